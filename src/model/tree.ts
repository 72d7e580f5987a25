import type { AgentState } from "./types.js";

/**
 * Nested work: agents added under a parent (`add --parent`) form a tree. Pure.
 *
 * Display order: top-level agents sorted by domain, each followed by its children (sorted the same
 * way), depth first. Without children this is exactly the domain order of the original design.
 * A `parentId` naming no agent of the run (a hand-edited state file) makes the agent a top-level one.
 */

/** How deep agents may nest (a top-level agent is at depth 0). */
export const MAX_DEPTH = 8;

export interface TreeEntry<T> {
  agent: T;
  /** 0 for a top-level agent, 1 for its children, and so on. */
  depth: number;
}

type Node = Pick<AgentState, "agentId" | "domain" | "parentId">;

/** The agent's parent id, null for a top-level agent (also for state files written before nesting). */
const parentOf = (agent: Pick<AgentState, "parentId">): string | null => agent.parentId ?? null;

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const byDomain = (a: Node, b: Node) =>
  compareCodeUnits(a.domain, b.domain) || compareCodeUnits(a.agentId, b.agentId);

/** Children by parent id, each list sorted by domain; top-level agents under `null`. */
export function childrenByParent<T extends Node>(agents: readonly T[]): Map<string | null, T[]> {
  const ids = new Set(agents.map((agent) => agent.agentId));
  const map = new Map<string | null, T[]>();
  for (const agent of agents) {
    const parent = parentOf(agent);
    const key = parent !== null && ids.has(parent) && parent !== agent.agentId ? parent : null;
    const list = map.get(key);
    if (list) list.push(agent);
    else map.set(key, [agent]);
  }
  for (const list of map.values()) list.sort(byDomain);
  return map;
}

/** Ids of the agents that have children. */
function parentIds(agents: readonly Node[]): Set<string> {
  const parents = new Set<string>();
  for (const key of childrenByParent(agents).keys()) if (key !== null) parents.add(key);
  return parents;
}

/** The agents without children: where files are counted (a parent's are its children's sums). */
export function leafAgents<T extends Node>(agents: readonly T[]): T[] {
  const parents = parentIds(agents);
  return agents.filter((agent) => !parents.has(agent.agentId));
}

/** The agents in display order with their depth (see above). Every agent appears exactly once. */
export function treeOrder<T extends Node>(agents: readonly T[]): TreeEntry<T>[] {
  const children = childrenByParent(agents);
  const out: TreeEntry<T>[] = [];
  // By identity, not id: a hand-made state (or a test) may hold two agents with the same id.
  const seen = new Set<T>();
  // Depth first with a stack of its own, not recursion: a hand-edited chain may be deeper than the call stack.
  const visit = (root: T) => {
    const stack: TreeEntry<T>[] = [{ agent: root, depth: 0 }];
    while (stack.length > 0) {
      const entry = stack.pop()!;
      if (seen.has(entry.agent)) continue;
      seen.add(entry.agent);
      out.push(entry);
      const kids = children.get(entry.agent.agentId) ?? [];
      for (let index = kids.length - 1; index >= 0; index -= 1) {
        stack.push({ agent: kids[index]!, depth: entry.depth + 1 });
      }
    }
  };
  for (const root of children.get(null) ?? []) visit(root);
  // Agents only reachable through a cycle (never made by this tool): shown at the top level.
  for (const agent of [...agents].sort(byDomain)) visit(agent);
  return out;
}

/** The ids of `agentId`'s ancestors, nearest first (bounded: a cycle in a hand-edited file stops it). */
export function ancestorIds(agents: Readonly<Record<string, Node>>, agentId: string): string[] {
  const out: string[] = [];
  let current = Object.hasOwn(agents, agentId) ? agents[agentId] : undefined;
  while (current) {
    const parent = parentOf(current);
    if (parent === null || parent === agentId || out.includes(parent) || !Object.hasOwn(agents, parent))
      break;
    out.push(parent);
    current = agents[parent];
  }
  return out;
}

/** The depth of an agent: how many ancestors it has. */
export function depthOf(agents: Readonly<Record<string, Node>>, agentId: string): number {
  return ancestorIds(agents, agentId).length;
}

/** The ids of every agent below `agentId` (children, their children, ...). */
export function descendantIds(agents: readonly Node[], agentId: string): string[] {
  const children = childrenByParent(agents);
  const seen = new Set<string>([agentId]);
  const stack = [...(children.get(agentId) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next.agentId)) continue;
    seen.add(next.agentId);
    stack.push(...(children.get(next.agentId) ?? []));
  }
  seen.delete(agentId);
  return [...seen];
}
