/**
 * What a GitHub write needs beyond what every command loads: the GitHub client and the renderer.
 * Loaded together, once, when a write is due (the CLI bundles this module on its own), so that a
 * command that writes nothing never pays for them and one that writes loads one file.
 */
export { createOctokitClient } from "../github/octokit-client.js";
export { readProxySettings } from "../github/proxy.js";
export { renderFinalComment, renderProgressComment } from "../render/progress-comment.js";
