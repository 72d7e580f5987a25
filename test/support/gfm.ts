import { fromMarkdown } from "mdast-util-from-markdown";
import { gfmFromMarkdown } from "mdast-util-gfm";
import { gfm } from "micromark-extension-gfm";

/** A node of the tree GitHub's markdown (GFM) parses a comment into, as far as the tests look. */
export interface MdNode {
  type: string;
  value?: string;
  depth?: number;
  lang?: string | null | undefined;
  children?: MdNode[];
}

/** A comment body parsed as GitHub renders it (the GFM parser in devDependencies). */
export const parseGfm = (body: string): MdNode =>
  fromMarkdown(body, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] }) as MdNode;

export function* walk(node: MdNode): Generator<MdNode> {
  yield node;
  for (const child of node.children ?? []) yield* walk(child);
}

/** The visible text of a node; a `<br>` counts as a line break, other raw HTML as nothing. */
export function text(node: MdNode): string {
  if (node.type === "html") return node.value === "<br>" ? "\n" : "";
  if (node.value !== undefined) return node.value;
  return (node.children ?? []).map(text).join("");
}
