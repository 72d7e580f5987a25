/** The control calls the start-up measurement makes to a fake GitHub in another process, and answers. */
export type ControlCall = { id: number } & (
  | { op: "addComment"; repo: string; issue: number; body: string; author: string }
  | { op: "bodyLengths"; repo: string; issue: number }
  | { op: "counts" }
  | { op: "close" }
);

export interface ControlAnswer {
  id: number;
  value: unknown;
}
