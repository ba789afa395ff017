// One build for every entry point: the engine (AssemblyScript -> WASM) and the
// CLI bundle (esbuild). Runs on `npm install` (prepare) so a fresh clone works.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
mkdirSync(join(root, "build"), { recursive: true });

const asc = join(dirname(require.resolve("assemblyscript/package.json")), "bin", "asc.js");
for (const target of ["release", "debug"]) {
  execFileSync(process.execPath, [asc, "assembly/index.ts", "--config", "asconfig.json", "--target", target],
    { cwd: root, stdio: "inherit" });
}

const esbuild = await import("esbuild");
await esbuild.build({
  entryPoints: { cli: join(root, "sdk/cli.ts"), index: join(root, "sdk/index.ts"), "node-worker": join(root, "sdk/workers/node-worker.ts") },
  outdir: join(root, "dist"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});

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

// Built-in plugins (plugins/*.ts), written against the public API like any third
// party's: one module each in dist/plugins/, found by name (sdk/run.ts loadPlugins).
const { readdirSync } = await import("node:fs");
await esbuild.build({
  entryPoints: readdirSync(join(root, "plugins")).filter((f) => f.endsWith(".ts")).map((f) => join(root, "plugins", f)),
  outdir: join(root, "dist/plugins"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["connsim"],
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
  minify: true,
  metafile: true,
  logLevel: "warning",
});
for (const [file, output] of Object.entries(browser.metafile.outputs)) {
  const bad = output.imports.filter((i) => i.external && i.kind !== "dynamic-import");
  if (bad.length) throw new Error(`${file} imports ${bad.map((i) => i.path).join(", ")}, which a browser cannot load`);
}
