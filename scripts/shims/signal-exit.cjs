// Bundling shim: proper-lockfile uses signal-exit to release held locks when the process ends. The full
// library hooks every signal at load (a millisecond and more at every CLI start); this keeps the normal
// exit path. A process killed by a signal while holding the lock (held for milliseconds) leaves it to be
// taken over once stale, as after SIGKILL.
module.exports = function onExit(callback) {
  process.on("exit", callback);
  return () => process.removeListener("exit", callback);
};
