import { type Browser, chromium } from "playwright-core";

/** Debian's chromium: the browser tests and `npm run bench -- serve` drive it (never a downloaded browser). */
export const CHROMIUM = "/usr/bin/chromium";

/** The page's size in the browser tests and the bench: the README's screenshot is taken at it. */
export const VIEWPORT = { width: 1280, height: 900 };

/** Starts CHROMIUM headless, as the browser tests and the bench both measure it. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}
