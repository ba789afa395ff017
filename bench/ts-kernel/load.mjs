// Loading for the bench: bundles TypeScript with esbuild in memory and imports it
// through a data: URL (everything, zod included, is bundled, so the bundle has no
// bare imports to resolve), and instantiates the built WASM engine.

import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const HERE = dirname(fileURLToPath(import.meta.url));

async function bundle(contents, resolveDir) {
  const r = await esbuild.build({
    stdin: { contents, resolveDir, loader: "ts", sourcefile: "bench-entry.ts" },
    bundle: true, write: false, platform: "node", format: "esm", target: "node20", logLevel: "warning",
  });
  return import("data:text/javascript;base64," + Buffer.from(r.outputFiles[0].text).toString("base64"));
}

/** The TypeScript kernel (bench/ts-kernel/index.ts), plus its wheel and socket table for micro benchmarks. */
export function loadTsKernel() {
  return bundle(
    `export * from "./index"; export * as wheel from "./wheel"; export * as sockets from "./sockets"; export * as rng from "./rng";`,
    HERE);
}

/** The SDK's engine glue (configure, readSamples, readTrace, ...) and planScenario, from sdk/ sources. */
export function loadSdkInternals() {
  return bundle(
    `export { configure, readSamples, readTrace, instantiateEngine, Stat } from "../sdk/engine"; export { planScenario } from "../sdk/scenario";`,
    join(ROOT, "bench"));
}

const wasmModules = new Map();
/** A fresh instance of build/engine.wasm (or .debug.wasm, or a given file), through the SDK's instantiateEngine. */
export async function newWasmEngine(sdk, flavour = "release", file = undefined) {
  const path = file ?? join(ROOT, "build", flavour === "debug" ? "engine.debug.wasm" : "engine.wasm");
  if (!wasmModules.has(path)) wasmModules.set(path, readFile(path).then((b) => WebAssembly.compile(b)));
  return sdk.instantiateEngine(await wasmModules.get(path));
}

/**
 * The assembly/ sources this port was made from (git blob ids). The engine is being
 * edited; when a file has changed since, the port may be behind: check.mjs says so.
 */
export const PORTED_FROM = {
  "abi.ts": "b53b2ced40478092b2b18fed6c8d0bc0f98b7245",
  "apps.ts": "11863c118953eac8f868e1b3980ecb19faac5a2d",
  "hooks.ts": "f26307a7a937c8c2b565085f3579ac85b2ec2c88", // not ported: plugin hooks, which the bench workload does not use
  "index.ts": "23b05b4865a67eaac6cbe27d69b2b901b7812126",
  "invariants.ts": "9c8483c3452f763a04926ec24e0847139044032b", // not ported: test-only checks, no part of the measured kernel
  "mem.ts": "daf49dd96dab4ae09f409b4035e8d74a2fba802a",
  "metrics.ts": "01d97ae2043eff8f9d4c55e2e6d6fac1a46f7853",
  "net.ts": "d08cac72ba9f96c520ec23cc27d222700186afe8",
  "rng.ts": "8cf0697d8d14cd9ef8c050aca50c8592ba5b6eac",
  "sockets.ts": "ea1f350b79679cc84e3966b09045946304e99188",
  "tcp.ts": "5afd330519b398dd1852ce61f33a4725d6e8b173",
  "wheel.ts": "00701dabbed8f4a250ead94eb7bb6e90418aa94c",
};

/** Files of assembly/ that differ from the ones ported (added, removed or edited). */
export async function engineDrift() {
  const { createHash } = await import("node:crypto");
  const { readdir } = await import("node:fs/promises");
  const dir = join(ROOT, "assembly");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".ts"));
  const changed = [];
  for (const f of new Set([...files, ...Object.keys(PORTED_FROM)])) {
    let id = "(missing)";
    if (files.includes(f)) {
      const body = await readFile(join(dir, f));
      id = createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
    }
    if (id !== PORTED_FROM[f]) changed.push(f);
  }
  return changed.sort();
}
