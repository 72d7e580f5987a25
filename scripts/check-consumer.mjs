// Type-checks the published declaration files as a user's strict project sees them: examples/basic-usage.ts
// with tsconfig.examples.json's options (skipLibCheck off), "parallel-progress" resolved through the
// package's exports map to dist/lib (`tsc -b` first). Our files are checked in full (dist/lib's .d.ts and
// the example) with the types they use from other packages; those packages' own declaration files are
// theirs to check (`tsc -p tsconfig.examples.json` checks them all: three times the CPU).
// And every package our files pull declarations from must be one a user has: our dependencies (and
// theirs), or their own TypeScript and @types/node. A .d.ts that needs a devDependency's types (memfs,
// @types/pg) type-checks here, where devDependencies are installed, but not in a user's project.
import { readFileSync, realpathSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const config = ts.getParsedCommandLineOfConfigFile(join(root, "tsconfig.examples.json"), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => fail([diagnostic]),
});
if (config.errors.length > 0) fail(config.errors);
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });

// Where the packages' files are, symbolic links resolved as TypeScript resolves them.
const modules = realpathSync(join(root, "node_modules"));
/** `node_modules/zod/v4/core/index.d.cts` for a file in a package, else undefined. */
const inModules = (file) => {
  const path = relative(modules, file.fileName);
  return path.startsWith("..") ? undefined : `node_modules/${path}`;
};
const ours = program.getSourceFiles().filter((file) => !inModules(file));
const diagnostics = [
  ...program.getOptionsDiagnostics(),
  ...ours.flatMap((file) => [
    ...program.getSyntacticDiagnostics(file),
    ...program.getSemanticDiagnostics(file),
  ]),
  ...program.getGlobalDiagnostics(),
];
if (diagnostics.length > 0) fail(diagnostics);

// The packages a user has: our dependencies and the consumer's own TypeScript and @types/node, with
// everything they depend on, found as Node finds them (package-lock.json's paths).
const { packages } = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
const installed = new Set();
const visit = (from, name) => {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf("/node_modules/")))) {
    const path = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (packages[path]) {
      if (installed.has(path)) return;
      installed.add(path);
      const { dependencies = {}, optionalDependencies = {}, peerDependencies = {} } = packages[path];
      for (const dep of Object.keys({ ...dependencies, ...optionalDependencies, ...peerDependencies })) {
        visit(path, dep);
      }
      return;
    }
    if (!dir) return;
  }
};
for (const name of [...Object.keys(packages[""].dependencies ?? {}), "typescript", "@types/node"])
  visit("", name);

const foreign = new Set();
for (const file of program.getSourceFiles()) {
  const pkg = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(inModules(file) ?? "")?.[1];
  if (pkg && !installed.has(pkg)) foreign.add(pkg.replace(/.*node_modules\//, ""));
}
if (foreign.size > 0) {
  console.error(
    `dist/lib's declaration files need the types of packages a user does not install: ${[...foreign].sort().join(", ")}`,
  );
  process.exit(1);
}

function fail(list) {
  console.error(
    ts.formatDiagnostics(list, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => root,
      getNewLine: () => "\n",
    }),
  );
  process.exit(1);
}
