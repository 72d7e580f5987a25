/**
 * One deadline per command for everything it does on GitHub (every request, retry and wait): what is
 * not done by then is queued. 9.5 s, so that a command ends within about 10 s of its start however
 * slow or stuck GitHub is. The background writer gives each of its writes the same allowance.
 */
export const COMMAND_DEADLINE_MS = 9_500;

export function commandDeadline(now: number): number {
  return now + COMMAND_DEADLINE_MS;
}
