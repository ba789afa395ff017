// The package as a user gets it: `npm pack`, installed into an empty project, then the
// bin run on a scenario, the package imported from ESM and from CommonJS, a plugin in a
// folder with no node_modules loaded by path, and a TypeScript project type-checked
// against the shipped declarations under strict settings and under `tsc --init`'s.
// It packs what is built: `npm test` builds first (a stale dist/ is what would ship).
//
// Offline: the install uses only npm's cache. npm resolves a new dependency from the
// registry's full metadata, which `npm ci` does not cache, so the project gets a
// lockfile naming connsim's runtime dependencies as connsim's own lockfile pins them
// (resolved URL and integrity) and installs with `npm ci --offline`: what a user's
// `npm install connsim` puts in node_modules, from the cache alone.

import { execFile, spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
let dir: string;
let app: string;
let packed: string[];

function sh(cmd: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, ...options });
  if (r.error) throw r.error;
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}
const node = (args: string[], cwd = app) => sh(process.execPath, args, { cwd });
const tsc = (cwd: string, ...args: string[]) => node([TSC, ...args], cwd);
/** tsc without blocking, so two projects check at once (each takes seconds: zod's types are deep). */
const tscAsync = (cwd: string, ...args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
  execFile(process.execPath, [TSC, ...args], { cwd, encoding: "utf8" }, (e, stdout, stderr) => done({ code: e ? (typeof e.code === "number" ? e.code : 1) : 0, stdout, stderr }));
});

/** The installed project's lockfile: connsim from the tarball, its runtime dependencies as connsim's lockfile pins them. */
function consumerLock(tgz: string): object {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tgz)).digest("base64")}`;
  const packages: Record<string, unknown> = {
    "": { name: "app", dependencies: { connsim: `file:${tgz}` } },
    "node_modules/connsim": { version: pkg.version, resolved: `file:${tgz}`, integrity, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) if (path && !entry.dev) packages[path] = entry;
  return { name: "app", lockfileVersion: 3, requires: true, packages };
}

beforeAll(() => {
  for (const built of ["dist/index.js", "dist/plugin.js", "dist/cli.js", "dist/types/sdk/index.d.ts", "build/engine.wasm"]) {
    expect(existsSync(join(ROOT, built)), `${built} is missing: run npm run build`).toBe(true);
  }
  dir = mkdtempSync(join(tmpdir(), "connsim-package-"));
  // Scripts off: `prepare` would build again; the tarball must not need a build.
  const pack = sh("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT });
  expect(pack.code, pack.stderr).toBe(0);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  packed = info.files.map((f) => f.path);
  const tgz = join(dir, info.filename);
  app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies: { connsim: `file:${tgz}` } }));
  writeFileSync(join(app, "package-lock.json"), JSON.stringify(consumerLock(tgz)));
  const install = sh("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: app });
  expect(install.code, install.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  test("holds the engine, the bundles and the declarations, and no sources, tests or benches", () => {
    for (const file of ["bin/connsim.mjs", "build/engine.wasm", "dist/index.js", "dist/plugin.js", "dist/cli.js", "dist/node-worker.js", "dist/scenario.schema.json",
      "dist/report.js", "dist/report.css", "dist/types/sdk/index.d.ts", "dist/types/sdk/plugins.d.ts", "README.md", "package.json",
      "dist/browser/connsim.js", "dist/browser/worker.js", "dist/browser/engine.wasm", "dist/types/web/connsim.d.ts"]) {
      expect(packed, file).toContain(file);
    }
    expect(packed.filter((f) => /^(test|bench|sdk|assembly|plugins|scripts|web)\//.test(f) || f.startsWith("node_modules"))).toEqual([]);
    // Every declaration the entry points reach is shipped, and none names Node's types or comlink's Node adapter.
    const dts = packed.filter((f) => f.endsWith(".d.ts"));
    for (const f of dts) expect(readFileSync(join(app, "node_modules/connsim", f), "utf8"), f).not.toMatch(/from "node:|NodeJS\.|comlink\/dist/);
    expect(pkg.exports["."].types).toBe("./dist/types/sdk/index.d.ts");
    expect(pkg.exports["./plugin"].types).toBe("./dist/types/sdk/plugins.d.ts");
    expect(pkg.exports["./browser"]).toEqual({ types: "./dist/types/web/connsim.d.ts", default: "./dist/browser/connsim.js" });
    // The engine beside the browser entry is the one the package's Node entry runs.
    expect(readFileSync(join(app, "node_modules/connsim/dist/browser/engine.wasm")).equals(readFileSync(join(app, "node_modules/connsim/build/engine.wasm")))).toBe(true);
  });

  test("the bin runs a scenario: the README's port-exhaustion figures", () => {
    const r = node(["node_modules/.bin/connsim", "run", "node_modules/connsim/examples/default.json", "--quiet", "--json", "result.json"]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(app, "result.json"), "utf8"));
    expect([result.totals.attempted, result.totals.completed, result.totals.failed.EADDRNOTAVAIL, result.peak.TIME_WAIT]).toEqual([12108, 2000, 10108, 1000]);
  });

  test("the bin sweeps on two worker threads (the bundled CLI and worker), and the scenario's JSON Schema is exported", () => {
    const r = node(["node_modules/.bin/connsim", "sweep", "node_modules/connsim/examples/default.json", "--vary", "workloads.0.rate=10,20", "--workers", "2", "--csv", "-", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    // 1000 ports, 60 s of TIME_WAIT: 10/s never runs out in 120 s, 20/s does after 50 s.
    expect(r.stdout.split("\n").slice(1, 3).map((row) => row.split(",").slice(0, 5).join(","))).toEqual(["10,1197,1197,1197,0", "20,2408,2000,2000,408"]);
    writeFileSync(join(app, "schema.cjs"), `const s = require("connsim/scenario.schema.json"); console.log(Object.keys(s.properties).join(","), s.additionalProperties);`);
    const schema = node(["schema.cjs"]);
    expect(schema.code, schema.stderr).toBe(0);
    expect(schema.stdout.trim()).toBe("name,description,seed,duration,sample,profile,trace,hosts,links,workloads,expect,variant,vary false");
  });

  // 20 s at 100 connections a second over 1,000 ports held 60 s in TIME_WAIT: exactly
  // 1,000 complete, every later connect() fails with EADDRNOTAVAIL.
  const program = (load: string) => `${load}
const { readFileSync } = require("node:fs");
const scenario = JSON.parse(readFileSync("node_modules/connsim/examples/default.json", "utf8"));
scenario.duration = "20s";
Promise.resolve(connsim.runScenario(scenario)).then((r) => console.log(JSON.stringify([typeof plugin.definePlugin, connsim.VERSION, r.totals.attempted, r.totals.completed, r.totals.failed.EADDRNOTAVAIL])));`;
  const expectRun = (stdout: string) => {
    const [definePlugin, version, attempted, completed, failed] = JSON.parse(stdout);
    expect([definePlugin, version, completed, failed]).toEqual(["function", pkg.version, 1000, attempted - 1000]);
    expect(attempted).toBeGreaterThan(1900);
  };

  const esm = () => {
    writeFileSync(join(app, "esm.mjs"), program(`import * as connsim from "connsim"; import * as plugin from "connsim/plugin"; import { createRequire } from "node:module"; const require = createRequire(import.meta.url);`));
    return node(["esm.mjs"]);
  };

  test("imports from ESM: connsim and connsim/plugin", () => {
    const r = esm();
    expect(r.code, r.stderr).toBe(0);
    expectRun(r.stdout);
  });

  test("requires from CommonJS on Node 20.19 and later (require of an ES module); earlier, the error says import()", () => {
    writeFileSync(join(app, "cjs.cjs"), program(`const connsim = require("connsim"); const plugin = require("connsim/plugin");`));
    const r = node(["cjs.cjs"]);
    const [major, minor] = process.versions.node.split(".").map(Number);
    const requireEsm = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 23;
    if (requireEsm) {
      expect(r.code, r.stderr).toBe(0);
      expectRun(r.stdout);
      expect(r.stdout).toBe(esm().stdout); // one package, whichever way it is loaded
      expect(r.stderr).toBe(""); // no ExperimentalWarning for a package in node_modules
    } else {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/ERR_REQUIRE_ESM/);
    }
  });

  test("a plugin in a folder without node_modules imports connsim/plugin and connsim: both are the connsim that runs it", () => {
    const outside = mkdtempSync(join(dir, "plugin-"));
    writeFileSync(join(outside, "drop-first-syn.mjs"), DROP_FIRST_SYN);
    writeFileSync(join(outside, "s.json"), JSON.stringify(scenarioWith("./drop-first-syn.mjs")));
    const r = node([join(app, "node_modules/.bin/connsim"), "run", join(outside, "s.json"), "--quiet", "--json", "-"], outside);
    expect(r.code, r.stderr).toBe(0);
    const { totals } = JSON.parse(r.stdout);
    expect(totals.segments.dropped).toBe(totals.attempted);
    expect(totals.completed).toBe(totals.attempted);
    // Plain Node cannot load it: nothing beside it provides connsim.
    const plain = node(["--input-type=module", "-e", `import(${JSON.stringify(join(outside, "drop-first-syn.mjs"))}).catch((e) => console.log(e.code))`], outside);
    expect(plain.stdout.trim()).toBe("ERR_MODULE_NOT_FOUND");
  });

  test("a TypeScript project type-checks against the declarations: strict, and tsc --init's settings (module nodenext)", async () => {
    const fixtures = join(ROOT, "test/fixtures/consumer");
    const strict = join(app, "strict");
    mkdirSync(strict);
    for (const f of ["consumer.ts", "bad.ts"]) copyFileSync(join(fixtures, f), join(strict, f));
    writeFileSync(join(strict, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", noEmit: true }, files: ["consumer.ts", "bad.ts"] }));
    const init = join(app, "init");
    mkdirSync(init);
    copyFileSync(join(fixtures, "consumer.ts"), join(init, "consumer.ts"));
    expect(tsc(init, "--init").code).toBe(0); // writes tsconfig.json
    const settings = readFileSync(join(init, "tsconfig.json"), "utf8");
    expect(settings).toMatch(/"module": "nodenext"/);
    expect(settings).toMatch(/"strict": true/);
    expect(settings).toMatch(/"noUncheckedIndexedAccess": true/);

    const [s, i] = await Promise.all([tscAsync(strict, "-p", "."), tscAsync(init, "-p", ".", "--noEmit")]);
    // consumer.ts is clean; bad.ts's three mistakes are each caught, so the types are not `any`.
    expect(s.stdout.split("\n").filter((l) => /^\S+\.ts\(/.test(l)).map((l) => l.replace(/:.*/, ""))).toEqual([
      "bad.ts(5,57)", "bad.ts(6,31)", "bad.ts(7,1)",
    ]);
    expect(i.stdout + i.stderr).toBe("");
    expect(i.code).toBe(0);
  }, 120_000);
});

// A hook that drops each connection's first SYN: every connection then retransmits it once.
const DROP_FIRST_SYN = `import { definePlugin, z } from "connsim/plugin";
import { VERSION } from "connsim";
if (typeof VERSION !== "string") throw new Error("connsim did not resolve");
export default definePlugin({
  kind: "loss", name: "drop-first-syn", version: "1.0.0", options: z.strictObject({}),
  hook() {
    const seen = new Set();
    return { decide(batch, drop) {
      for (let i = 0; i < batch.size; i++) {
        const firstSyn = batch.flagText[i] === "S" && !seen.has(batch.conn[i]);
        if (firstSyn) seen.add(batch.conn[i]);
        drop[i] = firstSyn ? 1 : 0;
      }
    } };
  },
});
`;

function scenarioWith(plugin: string) {
  return {
    name: "first-syn", seed: 1, duration: "10s",
    hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms", loss: { plugin } }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: [{ at: "0s", rate: 20 }, { at: "5s", rate: 0 }] }],
  };
}
