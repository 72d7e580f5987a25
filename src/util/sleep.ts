/** Resolves after `ms` milliseconds (a timer that keeps the process alive meanwhile). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
