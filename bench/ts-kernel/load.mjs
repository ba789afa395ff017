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
    alias: { "connsim/plugin": join(ROOT, "sdk/plugins.ts") },
  });
  return import("data:text/javascript;base64," + Buffer.from(r.outputFiles[0].text).toString("base64"));
}

/** The TypeScript kernel (bench/ts-kernel/index.ts), plus its wheel and socket table for micro benchmarks. */
export function loadTsKernel() {
  return bundle(
    `export * from "./index"; export * as wheel from "./wheel"; export * as sockets from "./sockets"; export * as rng from "./rng";`,
    HERE);
}

/** The SDK's engine glue (configure, readSamples, readTrace, ...) and planScenario, from sdk/ sources, with the built-in plugins. */
export function loadSdkInternals() {
  return bundle(
    `import "../plugins/index"; export { configure, readSamples, readTrace, instantiateEngine, Stat } from "../sdk/engine"; export { planScenario } from "../sdk/scenario"; export { TraceField } from "../assembly/abi";`,
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
  "abi.ts": "e8c1f5494d078976a9232a65caa9904777781576",
  "apps.ts": "fc2030fa733d9231b71e7e29c82e318b4f9e0f81", // hooked workloads (WlParam.Hooked, addArrivals) not ported: the bench workload has none; outcomes are
  "hooks.ts": "cd602fb9bea316527ee797d8a89a0eddd07a9c8e", // not ported: plugin hooks, which the bench workload does not use
  "index.ts": "1e32a3abae9f4169b73b7952264acb4a92e4df7c", // RunStatus.WorkloadBatch not ported, as above; nor a run split over workers (setRemote, windows, inbox/outbox)
  "lanes.ts": "2c4fae062c32883c50c65c449aba182d30f67efa",
  "invariants.ts": "7f2cf5cf68c29730cd04372ad740abbc0d2c15b1", // not ported: test-only checks, no part of the measured kernel
  "mem.ts": "0169c9cad63a53d039d4cc5837952a5d75f30635",
  "metrics.ts": "7aa0d4acdf67aff61fae50138b0715330dfd86f1",
  "net.ts": "63b1d8ab70e23ed80d35a01fbcd4c47318cdcc23", // remote hosts, post, receive and the outbox (a run split over workers) not ported
  "rng.ts": "8cf0697d8d14cd9ef8c050aca50c8592ba5b6eac",
  "sockets.ts": "55218e832ccc054585ad18eecd4e2b3499ffbd33",
  "tcp.ts": "d9f81acb5b4781526003f1b98b8231dea9387870",
  "udp.ts": "dcf62b4cf88df32ed9fa0b83de84debccf61247f", // not ported: UDP, which the bench workload does not use
  "wheel.ts": "8c41de9e0ced4436920c6e7cdc9600337f423ca4",
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
