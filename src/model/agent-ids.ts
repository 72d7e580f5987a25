/**
 * Agent ids as the guide makes them: `impl-{first 3 characters of the domain, lowercased}-{HHMMSS UTC}`,
 * e.g. `impl-bac-163000` for "backend". Characters other than a–z and 0–9 become `x`, so an id is
 * always safe to type in a shell and to show on the issue. Ids that would collide within a run get a
 * suffix: `impl-bac-163000`, `impl-bac-163000-2`, `impl-bac-163000-3`. No id is a domain of its run
 * either (a domain may look like an id: `impl-a-163000`), so that an id always names its agent alone.
 */
export function agentIdBase(domain: string, at: Date): string {
  const prefix = Array.from(domain.toLowerCase())
    .slice(0, 3)
    .map((char) => (/^[a-z0-9]$/.test(char) ? char : "x"))
    .join("");
  const time = at.toISOString().slice(11, 19).replaceAll(":", "");
  return `impl-${prefix || "x"}-${time}`;
}

/** An id as agentIdBase makes it, with its suffix if any: `impl-bac-163000-3` → base and 3. */
const MADE_ID = /^(impl-[a-z0-9]{1,3}-\d{6})(?:-([2-9]|[1-9]\d{1,8}))?$/;

/**
 * One unique id per domain, in the order given, none of them equal to one of these domains or of
 * `otherDomains` (the run's agents', for agents added later), nor among `existing` (the run's agents and
 * those of the run it replaced, for agents added later; the run this one replaces, for a new run) nor
 * below one of them in its base's suffixes: `impl-bac-163000-3` there reserves `impl-bac-163000` and `-2`
 * too. So runs that replace one another within the same second of the clock (`init --force`, or a new run
 * of an epic in the database) never share an id: each takes the suffix after its predecessor's (`-2`, then `-3`), and a command
 * meant for an agent of the replaced run is refused as an unknown agent instead of changing the new run.
 * Each base remembers its next suffix, so ten thousand domains sharing a base take linear time, not a
 * search from `-2` for each (quadratic: 14 s).
 */
export function assignAgentIds(
  domains: readonly string[],
  at: Date,
  existing: Iterable<string> = [],
  otherDomains: Iterable<string> = [],
): string[] {
  const taken = new Set<string>(existing);
  const nextSuffix = new Map<string, number>();
  for (const id of [...taken]) {
    const match = MADE_ID.exec(id);
    if (!match) continue;
    const base = match[1]!;
    taken.add(base);
    const after = match[2] === undefined ? 2 : Number(match[2]) + 1;
    nextSuffix.set(base, Math.max(nextSuffix.get(base) ?? 2, after));
  }
  // Skipped, not reserving the suffixes below them as an id does: a name that is one agent's id and
  // another's domain would be ambiguous (findAgent), and the agent could not report by its id.
  for (const domain of [...domains, ...otherDomains]) taken.add(domain);
  return domains.map((domain) => {
    const base = agentIdBase(domain, at);
    let id = base;
    let n = nextSuffix.get(base) ?? 2;
    while (taken.has(id)) id = `${base}-${n++}`;
    nextSuffix.set(base, n);
    taken.add(id);
    return id;
  });
}
