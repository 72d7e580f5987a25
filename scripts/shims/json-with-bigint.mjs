// Bundling shim: @octokit/request reads and writes JSON through json-with-bigint, which keeps integers
// beyond 2^53 exact as BigInt. On Node 20 it does so with regular-expression passes over the text and a
// reviver called for every value of every answer, at every CLI call that writes. No number this product
// reads or sends comes near 2^53 (GitHub's comment and user ids are about 10^10) and its code reads them
// as plain numbers, so the CLI's bundles use JSON itself. The library (dist/lib) keeps Octokit's own.
export const JSONParse = (text, reviver) => JSON.parse(text, reviver);
export const JSONStringify = (value, replacer, space) => JSON.stringify(value, replacer, space);
