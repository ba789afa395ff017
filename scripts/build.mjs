// One build for every entry point: the engine (AssemblyScript -> WASM) and the
// CLI bundle (esbuild). Runs on `npm install` (prepare) so a fresh clone works.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
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
  entryPoints: { cli: join(root, "sdk/cli.ts"), index: join(root, "sdk/index.ts") },
  outdir: join(root, "dist"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
