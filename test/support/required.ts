/**
 * A real part a test needs (PostgreSQL, chromium, tinyproxy, tmux, unshare): where it is missing the test
 * is skipped with the reason, except in CI (CI=true), whose `.ci/run` installs every one of them: there a
 * missing part fails loudly rather than letting its tests pass by skipping.
 */
export function unlessInCi(missing: string | null): string | null {
  if (missing !== null && process.env.CI === "true") throw new Error(`CI must provide this: ${missing}`);
  return missing;
}
