/**
 * A subscriber's listener as a store calls it (RunStore.subscribe): one that throws does not stop the
 * store's own work around the call (a watch renewed, a reconnection, the move to a new run), which would
 * end the subscription unseen, or (caught as a failed reconnection) open a new connection every two
 * seconds. Its error is thrown again on its own, as from any event handler: an uncaught exception.
 */
export function guardListener(listener: () => void): () => void {
  return () => {
    try {
      listener();
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  };
}
