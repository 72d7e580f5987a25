// How the CLI is bundled: esbuild's options for one Node bundle (scripts/build.mjs; the bench bundles its
// bare floor scripts the same way, so that they read one file as the CLI does), and a plugin.

/**
 * esbuild's options for a CommonJS bundle of everything a Node 20 entry point loads.
 * @type {import("esbuild").BuildOptions}
 */
export const NODE_BUNDLE = {
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  minify: !process.env.NO_MINIFY,
  legalComments: "none",
  logLevel: "warning",
};

// The plugin: a built-in module that a dependency requires at its top level, but uses only on a
// path the CLI never takes, is loaded when first used instead of when the bundle loads. The dependency's
// code is unchanged; only the moment Node loads the built-in moves. esbuild has no option for this.

/**
 * @param {Record<string, RegExp>} deferred built-in specifier (as the dependency writes it) → the paths
 *   of the files whose require of it is deferred
 * @returns {import("esbuild").Plugin}
 */
export function deferBuiltins(deferred) {
  const specifiers = Object.keys(deferred).map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return {
    name: "defer-builtins",
    setup(build) {
      build.onResolve({ filter: new RegExp(`^(${specifiers.join("|")})$`) }, (args) =>
        deferred[args.path]?.test(args.importer) ? { path: args.path, namespace: "deferred" } : undefined,
      );
      // A Proxy of the module's exports: reading any of them loads the module.
      build.onLoad({ filter: /.*/, namespace: "deferred" }, (args) => ({
        contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(args.path)}));
module.exports = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });`,
        loader: "js",
      }));
    },
  };
}
