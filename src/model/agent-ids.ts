/**
 * Agent ids as the guide makes them: `impl-{first 3 characters of the domain, lowercased}-{HHMMSS UTC}`,
 * e.g. `impl-bac-163000` for "backend". Characters other than a–z and 0–9 become `x`, so an id is
 * always safe to type in a shell and to show on the issue. Ids that would collide within a run get a
 * suffix: `impl-bac-163000`, `impl-bac-163000-2`, `impl-bac-163000-3`.
 */
export function agentIdBase(domain: string, at: Date): string {
  const prefix = Array.from(domain.toLowerCase())
    .slice(0, 3)
    .map((char) => (/^[a-z0-9]$/.test(char) ? char : "x"))
    .join("");
  const time = at.toISOString().slice(11, 19).replaceAll(":", "");
  return `impl-${prefix || "x"}-${time}`;
}

/**
 * One unique id per domain, in the order given, none of them among `existing` (agents added later).
 * Each base remembers its next suffix, so ten thousand domains sharing a base take linear time, not a
 * search from `-2` for each (quadratic: 14 s).
 */
export function assignAgentIds(
  domains: readonly string[],
  at: Date,
  existing: Iterable<string> = [],
): string[] {
  const taken = new Set<string>(existing);
  const nextSuffix = new Map<string, number>();
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
