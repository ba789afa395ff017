// One build for every entry point: the engine (AssemblyScript -> WASM) and the
// CLI bundle (esbuild). Runs on `npm install` (prepare) so a fresh clone works.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
mkdirSync(join(root, "build"), { recursive: true });

const asc = join(dirname(require.resolve("assemblyscript/package.json")), "bin", "asc.js");
for (const target of ["release", "debug"]) {
  execFileSync(process.execPath, [asc, "assembly/index.ts", "--config", "asconfig.json", "--target", target],
    { cwd: root, stdio: "inherit" });
}
// The release engine again through Binaryen, inlining far more than asc's limits allow
// (always 12, flexible 70, one caller 200 bytes): the hot path is a few large functions
// calling small ones, and V8's TurboFan in Node 20 does not inline wasm calls. On the
// bench workload: 11% fewer wasm instructions when it came, 2% once the hottest calls
// were inlined in the source (7,679 -> 7,510 per connection); the same semantics by construction.
const wasmOpt = join(dirname(require.resolve("binaryen/package.json")), "bin", "wasm-opt");
const release = join(root, "build", "engine.wasm");
execFileSync(process.execPath, [wasmOpt, release, "-o", release,
  "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int",
  "--converge", "-O4", "--always-inline-max-function-size", "40", "--flexible-inline-max-function-size", "1000",
  "--one-caller-inline-max-function-size", "10000", "--inline-functions-with-loops"], { cwd: root, stdio: "inherit" });

const esbuild = await import("esbuild");
// Plugins import the plugin API as "connsim/plugin"; inside a bundle that is
// sdk/plugins.ts, so a bundle holds one SDK and one registry. Each entry registers the
// built-ins (plugins/index.ts) first.
const alias = { "connsim/plugin": join(root, "sdk/plugins.ts") };
const entry = (name, body, own = {}) => esbuild.build({
  stdin: { contents: `import "./plugins/index.ts";\n${body}`, resolveDir: root, loader: "ts", sourcefile: `${name}-entry.ts` },
  outfile: join(root, "dist", `${name}.js`),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  alias,
  logLevel: "warning",
  ...own,
});
// The CLI and the worker start as programs: zod and comlink go in their bundles, one
// file to read instead of a few hundred, with zod's messages in English only (its other
// locales were a third of its start-up); other packages (esbuild, loaded for a .ts
// scenario) stay external. A plugin loaded by path still gets "connsim/plugin"
// (dist/plugin.js, zod from node_modules): zod's instanceof and its global registry
// work across copies.
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const bundled = ["zod", "comlink"];
const external = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((d) => !bundled.includes(d));
//
// Each is a CommonJS script (dist/NAME.cjs) that an ESM wrapper of the old name
// (dist/NAME.js) runs with V8's code cache (sdk/code-cache.ts, dist/code-cache.js): the
// cache is made below, once everything is built. Whitespace and syntax are minified
// (names kept, for readable stacks): a third less to read at every start, and no
// comment with a non-ASCII character, which would make V8 hold the whole source as
// two-byte text. import.meta.url is the script's own URL. A script run by vm cannot call
// import() (not without an experimental flag in Node 20): the import() of a Node module
// becomes require(), and that of a package (bullmq, ioredis, esbuild) or of a user module
// (user-module.ts) the wrapper's own import(), __bundleImport.
async function program(name, body) {
  const built = await esbuild.build({
    stdin: { contents: `import "./plugins/index.ts";\n${body}`, resolveDir: root, loader: "ts", sourcefile: `${name}-entry.ts` },
    write: false, bundle: true, platform: "node", format: "cjs", target: "node20", alias, external, plugins: [zodEnglishOnly()],
    minifyWhitespace: true, minifySyntax: true,
    define: { "import.meta.url": "__bundleUrl" }, banner: { js: 'var __bundleUrl=require("node:url").pathToFileURL(__filename).href;' },
    logLevel: "warning",
  });
  const code = built.outputFiles[0].text
    .replace(/\bimport\("(node:[\w/]+)"\)/g, 'Promise.resolve(require("$1"))')
    .replace(/\bimport\("/g, '__bundleImport("');
  // What is left is user-module.ts's import(url) for the ESM builds, which the bundle never takes.
  const left = code.match(/\bimport\(/g) ?? [];
  if (left.length > 1) throw new Error(`dist/${name}.cjs: ${left.length} import() calls left that a script cannot make`);
  // The build id opens the script and its cache: a cache never meets another build.
  const id = createHash("sha256").update(code).digest("hex").slice(0, 16);
  rmSync(join(root, "dist", `${name}.cjs.v8`), { force: true });
  writeFileSync(join(root, "dist", `${name}.cjs`), `// build ${id}\n${code}`);
  // The wrapper exports what the entry exports (esbuild lists an ESM output's exports).
  const shape = await esbuild.build({ stdin: { contents: body, resolveDir: root, loader: "ts" }, write: false, bundle: true, format: "esm", platform: "node", packages: "external", outfile: "shape.js", metafile: true, logLevel: "silent" });
  const names = Object.values(shape.metafile.outputs)[0].exports;
  writeFileSync(join(root, "dist", `${name}.js`), [
    `// ${name}.cjs, run with V8's code cache (code-cache.js). Built by scripts/build.mjs.`,
    `import { loadBundle } from "./code-cache.js";`,
    `const bundle = loadBundle(new URL("./${name}.cjs", import.meta.url), (url) => import(url));`,
    ...(names.length ? [`export const { ${names.join(", ")} } = bundle;`] : []),
    "",
  ].join("\n"));
}
await entry("index", `export * from "./sdk/index.ts";`);
await esbuild.build({ entryPoints: [join(root, "sdk/code-cache.ts")], outfile: join(root, "dist/code-cache.js"), bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning" });
await program("cli", `export * from "./sdk/cli.ts";`);
await program("node-worker", `import "./sdk/workers/node-worker.ts";`);
// Their code caches, made by this Node (another one compiles from source): the CLI's
// after a 1-connection run, so that what a run calls is compiled in it too; a worker's
// once it has loaded. In a child process, as a user starts them (no flags: V8 takes a
// cache only under the flags it was made with).
{
  const tmp = mkdtempSync(join(os.tmpdir(), "connsim-build-"));
  const tiny = join(tmp, "one-connection.json");
  writeFileSync(tiny, JSON.stringify({
    name: "one-connection", duration: "2s",
    hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 1, count: 1 }],
  }));
  const dist = (f) => JSON.stringify(pathToFileURL(join(root, "dist", f)).href);
  const worker = `import { writeCodeCaches } from ${dist("code-cache.js")}; await import(${dist("node-worker.js")}); writeCodeCaches(); process.exit(0);`;
  execFileSync(process.execPath, ["--input-type=module", "-e", `
    import { main } from ${dist("cli.js")};
    import { writeCodeCaches } from ${dist("code-cache.js")};
    import { Worker } from "node:worker_threads";
    const code = await main(["run", ${JSON.stringify(tiny)}, "--quiet"]);
    if (code !== 0) throw new Error("the run that makes the CLI's code cache failed");
    writeCodeCaches();
    await new Promise((done, fail) => new Worker(new URL("data:text/javascript," + encodeURIComponent(${JSON.stringify(worker)}))).on("exit", done).on("error", fail));
  `], { cwd: root, stdio: "inherit" });
  rmSync(tmp, { recursive: true, force: true });
}
await entry("plugin", `export * from "./sdk/plugins.ts";`); // "connsim/plugin" for plugins loaded from a path
// The scenario's JSON Schema, for editors ("connsim/scenario.schema.json"), and the
// reference in docs/scenario.md (scripts/scenario-docs.mjs): both from sdk/scenario.ts.
await entry("scenario-docs", `export * from "./sdk/scenario-docs.ts";`);
const { scenarioJsonSchema } = await import(pathToFileURL(join(root, "dist/scenario-docs.js")).href);
writeFileSync(join(root, "dist/scenario.schema.json"), JSON.stringify(scenarioJsonSchema(), null, 2) + "\n");

// The package's type declarations (dist/types), which a consumer's compiler reads instead
// of sdk/*.ts: they stand alone whatever the consumer's settings. Flags here rather than
// a tsconfig so nothing of connsim's own configuration reaches them; comlink's Node
// adapter has no types of its own, and its declaration (comlink-node.d.ts) is for the
// build only, none of the public surface names it.
const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
execFileSync(process.execPath, [tsc, "sdk/index.ts", "sdk/plugins.ts", "sdk/workers/comlink-node.d.ts",
  "--declaration", "--emitDeclarationOnly", "--outDir", "dist/types", "--rootDir", ".",
  "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom",
  "--strict", "--skipLibCheck", "--types", "node", "--stripInternal"], { cwd: root, stdio: "inherit" });

// The HTML report's charts (web/report.ts): one browser script and its CSS (dist/report.css),
// which sdk/report/html.ts inlines into each report. uPlot is MIT: keep its notice.
const uplot = JSON.parse(readFileSync(require.resolve("uplot/package.json"), "utf8"));
await esbuild.build({
  entryPoints: [join(root, "web/report.ts")],
  outfile: join(root, "dist/report.js"),
  bundle: true,
  platform: "browser",
  format: "iife",
  target: "es2020",
  minify: true,
  banner: { js: `/*! uPlot ${uplot.version} (c) Leon Sorokin, MIT License, https://github.com/leeoniya/uPlot */` },
  logLevel: "warning",
});

// The browser: the module Web Worker that hosts the engine, and the module a page
// imports (BrowserPool and friends, web/connsim.ts). sdk/run.ts names Node modules on
// paths a browser never takes (node:fs for a file: engine URL; worker_threads behind
// runScenario({ workers }), which tree shaking drops): they stay external, and a static
// import of one, which would stop the bundle loading at all, fails the build instead.
const browser = await esbuild.build({
  entryPoints: { worker: join(root, "web/worker.ts"), connsim: join(root, "web/connsim.ts") },
  outdir: join(root, "dist/browser"),
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  external: ["node:*"],
  alias,
  minify: true,
  metafile: true,
  logLevel: "warning",
});
for (const [file, output] of Object.entries(browser.metafile.outputs)) {
  const bad = output.imports.filter((i) => i.external && i.kind !== "dynamic-import");
  if (bad.length) throw new Error(`${file} imports ${bad.map((i) => i.path).join(", ")}, which a browser cannot load`);
}

/** zod's locales module with English alone (z.locales.en; z.config() needs no other). */
function zodEnglishOnly() {
  return {
    name: "zod-english-only",
    setup(build) {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) => (/[\\/]zod[\\/]/.test(a.importer) ? { path: join(dirname(a.importer), a.path), namespace: "zod-en" } : undefined));
      build.onLoad({ filter: /.*/, namespace: "zod-en" }, (a) => ({ contents: 'export { default as en } from "./en.js";', resolveDir: dirname(a.path) }));
    },
  };
}
// ---- browser package assets and the study page (scripts/build-browser.mjs) ----------
const { buildBrowserPackage, buildWebPage } = await import("./build-browser.mjs");
buildBrowserPackage();
await buildWebPage();
// ---- end of the browser block ----------------------------------------------------------
