// Loading the CLI's and the workers' bundles (dist/cli.cjs, dist/node-worker.cjs) with
// V8's code cache. Node 20 keeps no compiled code between runs for modules
// (module.enableCompileCache came in Node 22), so every start parsed and compiled its
// half-megabyte bundle (zod is most of it) again: about a third of a small run's time
// to its first event, and of each sweep worker's start. A bundle is a CommonJS script
// run through vm.Script with the cache the build wrote beside it (FILE.v8, made after a
// run so that what a run calls is in it). V8 takes the cache only when its version, its
// flags and the source's length match and compiles from source otherwise (another
// Node than the one that built the package); the bundle's build id, its first line,
// opens the cache, so a bundle rebuilt to the same length never meets an old cache.
// Imported by the two ESM wrappers (dist/cli.js, dist/node-worker.js) and the build.

import { createRequire } from "node:module";

// Node's modules by require(): importing them makes an ES module facade of each, whose
// getters load more (node:fs's streams), a few ms of a start.
const require = createRequire(import.meta.url);
const { readFileSync, writeFileSync } = require("node:fs") as typeof import("node:fs");
const { dirname } = require("node:path") as typeof import("node:path");
const { fileURLToPath } = require("node:url") as typeof import("node:url");
const { Script } = require("node:vm") as typeof import("node:vm");

/** The bundles loaded in this thread, with their build ids, for writeCodeCaches. */
const loaded = new Map<string, { script: import("node:vm").Script; id: string }>();

/**
 * The exports of the CommonJS bundle at `url`. Code compiled by vm.Script cannot call
 * import() in Node 20 without an experimental flag, so `importer` (the wrapper's own
 * import()) loads what the bundle imports at run time from outside it: user modules
 * (user-module.ts); Node's modules and packages it requires.
 */
export function loadBundle(url: URL, importer: (specifier: string) => Promise<unknown>): Record<string, unknown> {
  const file = fileURLToPath(url);
  const source = readFileSync(file, "utf8");
  const id = /^\/\/ build (\w+)/.exec(source)?.[1] ?? "";
  let cachedData: Buffer | undefined;
  try {
    const cache = readFileSync(`${file}.v8`);
    if (id && cache.subarray(0, id.length + 1).toString("latin1") === `${id}\n`) cachedData = cache.subarray(id.length + 1);
  } catch { /* no cache: compiled from source */ }
  const script: import("node:vm").Script = new Script(`(function (exports, require, module, __filename, __dirname, __bundleImport) {"use strict";${source}\n})`, { filename: file, cachedData });
  loaded.set(file, { script, id });
  const module = { exports: {} as Record<string, unknown> };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), importer);
  return module.exports;
}

/** Writes the code cache of each bundle this thread loaded beside it (FILE.v8): the build calls it once a run has compiled what a run needs. */
export function writeCodeCaches(): string[] {
  return [...loaded].filter(([, b]) => b.id).map(([file, { script, id }]) => {
    writeFileSync(`${file}.v8`, Buffer.concat([Buffer.from(`${id}\n`, "latin1"), script.createCachedData()]));
    return `${file}.v8`;
  });
}
