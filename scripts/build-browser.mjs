// The browser side of the build, after scripts/build.mjs has made dist/browser/ (the
// worker and the page module) and dist/report.*: the package's `connsim/browser` assets
// (the engine beside the module, its type declarations) and the study page, dist/web/,
// static files with relative URLs only, so any static host (or none, offline) serves it.
//   node scripts/build-browser.mjs     (also run by scripts/build.mjs)
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

/** `connsim/browser`: the engine shipped beside dist/browser/connsim.js (BrowserPool's default engineUrl), and its types. */
export function buildBrowserPackage() {
  copyFileSync(join(root, "build/engine.wasm"), join(root, "dist/browser/engine.wasm"));
  // The same flags as the package's other declarations (scripts/build.mjs), for the browser entry.
  const tsc = join(dirname(require.resolve("typescript/package.json")), "bin", "tsc");
  execFileSync(process.execPath, [tsc, "web/connsim.ts", "sdk/workers/comlink-node.d.ts",
    "--declaration", "--emitDeclarationOnly", "--outDir", "dist/types", "--rootDir", ".",
    "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom",
    "--strict", "--skipLibCheck", "--types", "node", "--stripInternal"], { cwd: root, stdio: "inherit" });
}

/**
 * dist/web/: index.html, app.js + app.css (the page), connsim.js + worker.js + engine.wasm
 * (the package's browser entry as a user would serve it: the page imports it, so the
 * page, its plugins and the package are one module), report.js + report.css (for the
 * HTML report download), and the examples' plugin modules, which import connsim.js.
 */
export async function buildWebPage() {
  const esbuild = await import("esbuild");
  const out = join(root, "dist/web");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "examples/plugins"), { recursive: true });
  for (const f of ["connsim.js", "worker.js", "engine.wasm"]) copyFileSync(join(root, "dist/browser", f), join(out, f));
  for (const f of ["report.js", "report.css"]) copyFileSync(join(root, "dist", f), join(out, f));
  copyFileSync(join(root, "web/app/index.html"), join(out, "index.html"));
  // The example studies, the port-exhaustion one first; their plugin modules by relative path.
  const names = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".json")).sort((a, b) => (a === "default.json" ? -1 : b === "default.json" ? 1 : a.localeCompare(b)));
  const examples = names.map((f) => [f.replace(/\.json$/, ""), readFileSync(join(root, "examples", f), "utf8")]);
  for (const f of readdirSync(join(root, "examples/plugins"))) {
    const text = readFileSync(join(root, "examples/plugins", f), "utf8").replaceAll('"connsim/plugin"', '"../../connsim.js"');
    writeFileSync(join(out, "examples/plugins", f), text);
  }
  const uplot = JSON.parse(readFileSync(require.resolve("uplot/package.json"), "utf8"));
  await esbuild.build({
    entryPoints: { app: join(root, "web/app/main.ts") },
    outdir: out,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: true,
    define: { __EXAMPLES__: JSON.stringify(examples) },
    banner: { js: `/*! uPlot ${uplot.version} (c) Leon Sorokin, MIT License, https://github.com/leeoniya/uPlot */` },
    // The page uses the package's browser entry as served beside it, not a copy of its own.
    plugins: [{
      name: "connsim-browser-entry",
      setup(b) { b.onResolve({ filter: /^\.\.\/connsim\.js$/ }, () => ({ path: "./connsim.js", external: true })); },
    }],
    logLevel: "warning",
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildBrowserPackage();
  await buildWebPage();
}
