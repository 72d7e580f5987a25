/**
 * The order of one reporter's changes as they were called. Changes of one agent run one at a time, in
 * the order called: of two updates sent without awaiting, the first is applied first, whatever store and
 * however its transactions race (the PostgreSQL store retries a change that lost a race, which could
 * otherwise land after a later one). Changes of different agents run side by side. A change of the run
 * (init, add, finalize; a change of an agent with children, whose completion waits on theirs) runs after
 * every change called before it and before every one called after it.
 * The turn is taken when the call is made, so nothing the call awaits first (loading its argument
 * checks) can reorder it. Other reporters, processes and machines are not ordered by it.
 */
export class CallOrder {
  /** Each agent's latest change, by its agent id (turnOf in reporter.ts), since the run's latest one. */
  private readonly agents = new Map<string, Promise<void>>();
  private run: Promise<void> = Promise.resolve();

  /** Runs `work` in its turn; `agent`: the agent the change is of, or null for a change of the run. */
  turn<T>(agent: string | null, work: () => Promise<T>): Promise<T> {
    const before =
      agent === null
        ? Promise.all([this.run, ...this.agents.values()])
        : (this.agents.get(agent) ?? this.run);
    const result = before.then(work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    if (agent === null) {
      this.run = settled;
      this.agents.clear();
    } else {
      this.agents.set(agent, settled);
    }
    return result;
  }
}
