/**
 * A short random hex string for names that must not collide (temporary files, run ids, lease owners).
 * Not for secrets: node:crypto costs a few milliseconds to load at every CLI start, and none is needed here.
 */
export function randomHex(length: number): string {
  let hex = "";
  while (hex.length < length)
    hex += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return hex.slice(0, length);
}
