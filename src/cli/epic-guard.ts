import { quote } from "../config/show-value.js";
import { UsageError } from "../errors.js";
import type { RunState } from "../model/types.js";
import type { RunStore } from "../store/types.js";

/** The epic a command was given, and where: `--epic`, or PARALLEL_PROGRESS_EPIC. */
export interface GivenEpic {
  epicId: string;
  source: "--epic" | "PARALLEL_PROGRESS_EPIC";
}

/**
 * The file store in --dir as a command given an epic sees it: a run there of another epic is refused (the
 * caller's mistake, one line naming both; nothing read is used and nothing is changed), as a database
 * store would find only that epic's runs. No run at all is left to the command ("no run here").
 */
export function expectEpic(store: RunStore, given: GivenEpic, dir: string): RunStore {
  const check = (state: RunState | null): void => {
    // A run started before epic ids were kept in NFC may hold another form of the same name.
    if (state === null || state.epicId.normalize("NFC") === given.epicId) return;
    const fix =
      given.source === "--epic"
        ? `give --epic ${quote(state.epicId)} (or leave --epic out)`
        : `give --epic ${quote(state.epicId)}, or unset PARALLEL_PROGRESS_EPIC`;
    throw new UsageError(
      `${given.source} names epic ${quote(given.epicId)}, but the run in ${dir} is epic ${quote(state.epicId)}'s: ${fix}`,
    );
  };
  return {
    location: store.location,
    read: async () => {
      const state = await store.read();
      check(state);
      return state;
    },
    // Checked inside the transaction, on the state it changes: a run replaced meanwhile is seen.
    transact: (change) =>
      store.transact((current, now) => {
        check(current);
        return change(current, now);
      }),
    subscribe: (listener) => store.subscribe(listener),
    close: () => store.close(),
  };
}
