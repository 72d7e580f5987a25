import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The page's files (plain ES modules, no build step), served from memory under these names only. */
const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "rows.js": "text/javascript; charset=utf-8",
  "chart.js": "text/javascript; charset=utf-8",
  "format.js": "text/javascript; charset=utf-8",
  "tabs.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

export interface Asset {
  type: string;
  body: Buffer;
}

/** Reads the page's files once, at start: a missing file is found before anyone opens the page. */
export async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(TYPES)) {
    assets.set(`/${name}`, { type, body: await readFile(join(dir, name)) });
  }
  assets.set("/", assets.get("/index.html")!);
  return assets;
}
