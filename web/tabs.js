// The open tabs of this page in this browser (one server: BroadcastChannel is per origin), counted so
// that hidden ones let go of their streams only when many are open: a browser keeps at most six
// connections to one server, each open page holds one, and a new tab needs one free to load at all.

/** Open tabs of the page from which hidden ones let go of their streams. */
export const CROWDED = 5;

/**
 * Starts counting; `onChange` is called when another tab opens or closes. Returns how many tabs of the
 * page are open, this one included (1 where the browser has no BroadcastChannel).
 * @param {() => void} onChange @returns {() => number}
 */
export function countTabs(onChange) {
  if (typeof BroadcastChannel !== "function") return () => 1;
  /** @type {Set<string>} */
  const others = new Set();
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const channel = new BroadcastChannel("parallel-progress-tabs");
  channel.onmessage = ({ data }) => {
    if (typeof data?.hello === "string") {
      others.add(data.hello);
      channel.postMessage({ here: id });
    } else if (typeof data?.here === "string") others.add(data.here);
    else if (typeof data?.bye === "string") others.delete(data.bye);
    else return;
    onChange();
  };
  channel.postMessage({ hello: id });
  addEventListener("pagehide", () => channel.postMessage({ bye: id }));
  // Back from the browser's page cache: counted again.
  addEventListener("pageshow", (event) => {
    if (event.persisted) channel.postMessage({ hello: id });
  });
  return () => others.size + 1;
}
