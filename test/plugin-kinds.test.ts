// The three plugin kinds (loss, portAllocator, workload): the built-ins are plugins/
// files that use only the plugin API, third-party allocators and workloads run as
// kernels, and mistakes in a plugin or in its use are named. Also the two built-ins
// that exist only as plugins: the windows allocator and the server-restart workload.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  definePlugin, fields, planScenario, PluginError, registeredPlugin, runScenario, ScenarioError, z, type Result, type Scenario,
} from "../sdk/index.js";
import { builtIns } from "../plugins/index.js";
import { pair, runDebug } from "./helpers.js";

const ROOT = join(import.meta.dirname, "..");
const stable = (r: Result) => JSON.stringify({ ...r, engine: { ...r.engine, wallSeconds: 0 } });

describe("the built-ins are plugins like any other", () => {
  test("each file of plugins/ imports only the plugin API (or its siblings) and is registered by its name", () => {
    const files = readdirSync(join(ROOT, "plugins")).filter((f) => f.endsWith(".ts") && f !== "index.ts");
    for (const f of files) {
      const imports = [...readFileSync(join(ROOT, "plugins", f), "utf8").matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
      expect(imports.filter((i) => i !== "connsim/plugin"), f).toEqual([]);
    }
    expect(builtIns.map((p) => `${p.name}.ts`).sort()).toEqual(files.sort());
    for (const p of builtIns) expect(registeredPlugin(p.name)).toBe(p);
    expect(new Set(builtIns.map((p) => p.kind))).toEqual(new Set(["loss", "portAllocator", "workload"]));
  });

  test("a built-in's options are checked by its own schema, errors naming it", () => {
    const s = pair({ client: { portAllocator: { plugin: "linux", seed: 3 } as never } });
    expect(() => planScenario(s)).toThrow('scenario.hosts.client.portAllocator.seed: unknown field. Allowed: plugin (plugin "linux" 1.0.0)');
    expect(() => planScenario(pair({ client: { portAllocator: "linus" as never } })))
      .toThrow('scenario.hosts.client.portAllocator: unknown plugin "linus"; did you mean "linux"? Allowed: sequential, random, linux, windows');
  });
});

describe("port allocator plugins", () => {
  /** Client ports of the traced connections and queries, in the order they were opened. */
  async function opened(portAllocator: string): Promise<string[]> {
    const r = await runScenario({
      name: "shared-cursor", duration: "10s", trace: 8,
      hosts: {
        client: { ip: "10.0.0.1", portAllocator },
        server: { ip: "10.0.0.2", listen: [{ port: 80 }, { port: 53, protocol: "udp" }] },
      },
      links: [{ between: ["client", "server"], latency: "1ms" }],
      workloads: [
        { plugin: "tcp-churn", from: "client", to: "server:80", rate: 1, arrival: "constant", count: 4 },
        { plugin: "udp-request", from: "client", to: "server:53", rate: 1, arrival: "constant", count: 4, start: "0.5s" },
      ],
    });
    return r.traces!.map((t) => ({ t: t.segments[0].t, kind: t.segments[0].flags.startsWith("udp") ? "udp" : "tcp", port: t.client.split(":")[1] }))
      .sort((a, b) => a.t - b.t).map((x) => `${x.kind}:${x.port}`);
  }

  test("windows: the dynamic range 49152-65535, one incremental cursor for TCP and UDP", async () => {
    expect(await opened("windows")).toEqual([
      "tcp:49152", "udp:49153", "tcp:49154", "udp:49155", "tcp:49156", "udp:49157", "tcp:49158", "udp:49159"]);
  });

  test("sequential: the profile's range, TCP and UDP each on their own cursor", async () => {
    expect(await opened("sequential")).toEqual([
      "tcp:32768", "udp:32768", "tcp:32769", "udp:32769", "tcp:32770", "udp:32770", "tcp:32771", "udp:32771"]);
  });

  test("a third-party allocator: a kernel with its own default range, which a host's ports still override", async () => {
    const bsd = definePlugin({
      kind: "portAllocator", name: "old-bsd", version: "0.1.0",
      options: z.strictObject({ top: fields.port.optional() }),
      kernel: ({ top }) => ({ model: "sequential", ports: [1024, top ?? 5000] }),
    });
    const s = (client: object) => pair({ trace: 3, client, workload: { count: 3 } });
    const ports = (r: Result) => r.traces!.map((t) => t.client.split(":")[1]);
    expect(ports(await runScenario(s({ portAllocator: "old-bsd" }), { plugins: [bsd] }))).toEqual(["1024", "1025", "1026"]);
    expect(planScenario(s({ portAllocator: { plugin: "old-bsd", top: 2000 } }), { plugins: [bsd] }).hosts[0].ports).toEqual([1024, 2000]);
    expect(ports(await runScenario(s({ portAllocator: "old-bsd", ports: "40000-40100" }), { plugins: [bsd] }))).toEqual(["40000", "40001", "40002"]);
  });
});

describe("workload plugins", () => {
  // A health checker: one connection every `every`, a tiny request and response.
  const healthCheck = definePlugin({
    kind: "workload", name: "health-check", version: "2.0.0",
    options: z.strictObject({ every: fields.duration }),
    kernel: ({ every }) => ({ model: "open-loop", rate: 1e6 / every, arrival: "constant", request: 16, response: 2 }),
  });
  const checks = (extra: object = {}): Scenario => ({
    ...pair({ duration: "60s" }),
    workloads: [{ plugin: "health-check", from: "client", to: "server:80", every: "5s", ...extra }],
  });

  test("its options are checked, its kernel runs: one check every 5 s is 12 in a minute", async () => {
    const r = await runScenario(checks(), { plugins: [healthCheck] });
    expect(r.totals.attempted).toBe(12);
    expect(r.totals.completed).toBe(12);
    await expect(runScenario(checks({ every: "soon" }), { plugins: [healthCheck] })).rejects.toThrow(
      /^scenario\.workloads\.0\.every: "soon" is not a duration.* \(plugin "health-check" 2\.0\.0\)$/);
    await expect(runScenario(checks({ rate: 3 }), { plugins: [healthCheck] })).rejects.toThrow(
      'scenario.workloads.0.rate: unknown field. Allowed: plugin, from, to, source, portAt, via, every (plugin "health-check" 2.0.0)');
  });

  test("a kernel outside the engine's vocabulary is refused, naming the plugin and the field", async () => {
    const bad = definePlugin({
      kind: "workload", name: "bad-kernel", version: "1.0.0",
      kernel: () => ({ model: "closed-loop", clients: 0 }),
    });
    await expect(runScenario(pair({ workload: { plugin: "bad-kernel" } as never }), { plugins: [bad] })).rejects.toThrow(
      /^plugin "bad-kernel": kernel\(\) returned a bad workload kernel at clients: /);
    await expect(runScenario(pair({ workload: { plugin: "bad-kernel" } as never }), { plugins: [bad] })).rejects.toBeInstanceOf(PluginError);
  });

  test("a plugin used as another kind, or a kind that does not exist, is refused", () => {
    expect(() => planScenario(pair({ workload: { plugin: "policer" } as never }))).toThrow(
      'scenario.workloads.0.plugin: "policer" is a loss plugin, not a workload plugin. Allowed: tcp-churn, closed-loop, keepalive-pool, udp-request, server-restart');
    expect(() => definePlugin({ kind: "portAllocator", name: "p", version: "1", hook: () => ({}) } as never)).toThrow(
      'plugin "p": needs a kernel(options): a portAllocator plugin runs in the engine');
    expect(() => definePlugin({ kind: "workload", name: "w", version: "1" } as never)).toThrow(
      'plugin "w": needs a kernel(options) or a hook(options, context), or both');
    expect(() => definePlugin({ kind: "nat", name: "n", version: "1", kernel: () => ({}) } as never)).toThrow(
      'plugin "n": kind "nat" is not supported; allowed: "loss", "portAllocator", "workload"');
  });
});

describe("workload hooks: arrivals from TypeScript, one window (sample) at a time", () => {
  const replay = definePlugin({
    kind: "workload", name: "replay", version: "1.0.0",
    options: z.strictObject({ at: z.array(z.number().min(0)), closer: z.enum(["client", "server"]).optional() }),
    kernel: ({ closer }) => ({ model: "open-loop", rate: 0, closer }),
    hook: ({ at }) => ({ arrivals: ({ from, to }) => at.filter((t) => t >= from && t < to) }),
  });
  const replaying = (extra: object, over: object = {}): Scenario => ({
    ...pair({ duration: "10s", sample: "1s", trace: 10 }), ...over,
    workloads: [{ plugin: "replay", from: "client", to: "server:80", ...extra }],
  });
  const opens = (r: Result) => r.traces!.map((t) => t.states.find((s) => s.host === "client" && s.to === "SYN_SENT")!.t);

  test("each connection opens exactly when the hook said, across windows; the kernel says who closes", async () => {
    const at = [0, 0.25, 1.5, 1.5, 2.999999, 7.125, 9.5];
    const r = await runScenario(replaying({ at, closer: "server" }), { plugins: [replay], flavour: "debug" });
    expect(opens(r)).toEqual(at);
    expect(r.totals.attempted).toBe(7);
    expect(r.totals.completed).toBe(7);
    expect(r.peak.TIME_WAIT).toBe(7);
    expect(r.series.byHost.server.TIME_WAIT.at(-1)).toBe(7); // the server closed first
    expect(r.error).toBeUndefined();
  });

  test("the hook is asked once per window, ahead of the clock, with the window's bounds", async () => {
    const windows: [number, number][] = [];
    const spy = definePlugin({
      kind: "workload", name: "spy", version: "1.0.0",
      hook: () => ({ arrivals: ({ from, to }) => { windows.push([from, to]); return []; } }),
    });
    await runScenario(replaying({}, { duration: "3.5s" }) as Scenario, { plugins: [{ ...spy, name: "replay" }] });
    expect(windows).toEqual([[0, 1], [1, 2], [2, 3], [3, 3.5]]);
  });

  test("a time outside its window stops the run, naming the plugin; the samples so far are kept", async () => {
    const late = definePlugin({
      kind: "workload", name: "late", version: "1.0.0",
      hook: () => ({ arrivals: ({ from }) => (from < 3 ? [from] : [from + 5]) }),
    });
    const r = await runScenario({ ...replaying({}), workloads: [{ plugin: "late", from: "client", to: "server:80" }] }, { plugins: [late] });
    expect(r.error).toBe('plugin "late": arrivals() gave 8 for the window [3, 4) s; each time must be inside it; the samples so far are kept');
    expect(r.totals.attempted).toBe(3);
    expect(r.series.t.at(-1)).toBe(3);
  });

  test("each window the hook is told what its connections came to in the window before", async () => {
    const told: { from: number; attempted: number; established: number; noPort: number }[] = [];
    const steady = definePlugin({
      kind: "workload", name: "steady", version: "1.0.0",
      hook: () => ({
        arrivals: ({ from, to, outcomes }) => {
          told.push({ from, attempted: outcomes.attempted, established: outcomes.established, noPort: outcomes.failed.EADDRNOTAVAIL });
          return Array.from({ length: Math.round((to - from) * 100) }, (_, i) => from + i / 100); // 100/s
        },
      }),
    });
    // 1000 ports, 60 s of TIME_WAIT: the first 10 s succeed, then every connect() finds no port.
    const r = await runScenario({
      ...pair({ duration: "20s", sample: "1s", client: { ports: "40000-40999" } }),
      workloads: [{ plugin: "steady", from: "client", to: "server:80" }],
    }, { plugins: [steady] });
    expect(told[0]).toEqual({ from: 0, attempted: 0, established: 0, noPort: 0 });
    expect(told[5]).toEqual({ from: 5, attempted: 100, established: 100, noPort: 0 });
    expect(told[15]).toEqual({ from: 15, attempted: 100, established: 0, noPort: 100 });
    expect(told.reduce((a, t) => a + t.attempted, 0) + 100).toBe(r.totals.attempted); // the last window is never reported
  });

  test("a hook that reacts: a client that halves its rate on EADDRNOTAVAIL settles near ports / TIME_WAIT", async () => {
    // Additive increase, multiplicative decrease on the outcome of the window before.
    const aimd = definePlugin({
      kind: "workload", name: "aimd", version: "1.0.0",
      options: z.strictObject({ start: z.number(), react: z.boolean() }),
      hook: ({ start, react }) => {
        let rate = start;
        return {
          arrivals: ({ from, to, outcomes }) => {
            if (react) rate = outcomes.failed.EADDRNOTAVAIL > 0 ? rate / 2 : rate + 10;
            const n = Math.round((to - from) * rate);
            return Array.from({ length: n }, (_, i) => from + (i * (to - from)) / n);
          },
        };
      },
    });
    // 1000 ports held 10 s each: 100 connections a second is all the client can sustain.
    const run = (react: boolean) => runScenario({
      ...pair({ duration: "120s", sample: "1s", client: { ports: "40000-40999", tcp: { timeWait: "10s" } } }),
      workloads: [{ plugin: "aimd", from: "client", to: "server:80", start: 400, react }],
    }, { plugins: [aimd] });
    const blind = await run(false);
    const adaptive = await run(true);
    expect(blind.totals.failed.EADDRNOTAVAIL).toBeGreaterThan(30_000); // 400/s offered, 100/s possible
    expect(adaptive.totals.failed.EADDRNOTAVAIL).toBeLessThan(blind.totals.failed.EADDRNOTAVAIL / 5);
    // It still uses most of the capacity: 100/s over 120 s, less the first TIME_WAIT.
    expect(adaptive.totals.completed).toBeGreaterThan(0.75 * 100 * 120);
    expect(adaptive.totals.completed).toBeLessThanOrEqual(1000 + 100 * 120);
  });

  test("a third-party hook by path: a flash crowd's count is the integral of its rate, the same in workers", async () => {
    const crowd = (seed: number): Scenario => ({
      name: "crowd", seed, duration: "20s", sample: "1s",
      hosts: {
        client: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "1s" } }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] },
        c2: { ip: "10.0.1.1", tcp: { timeWait: "1s" } }, s2: { ip: "10.0.1.2", listen: [{ port: 80 }] },
      },
      links: [{ between: ["client", "server"], latency: "1ms" }, { between: ["c2", "s2"], latency: "1ms" }],
      workloads: ["client", "c2"].map((from) => ({
        plugin: "./plugins/flash-crowd.mjs", from, to: from === "client" ? "server:80" : "s2:80", rate: 100, surge: 10, at: "5s", for: "5s",
      })),
    });
    const { loadPlugins, WorkerPool, runOnPool, runPlan } = await import("../sdk/index.js");
    const plan = planScenario(crowd(1), { plugins: await loadPlugins(crowd(1), [], join(ROOT, "examples")) });
    const r = await runPlan(plan);
    // Per workload: 100/s for 15 s and 1000/s for 5 s = 6500; two workloads, Poisson: within 3 SD.
    expect(Math.abs(r.totals.attempted - 13_000)).toBeLessThan(3 * Math.sqrt(13_000));
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(0);
    const pool = new WorkerPool({ workers: 2 });
    try {
      const sharded = await runOnPool(plan, pool);
      expect(sharded.engine.workers).toBe(2);
      const same = (x: Result) => stable({ ...x, engine: { ...x.engine, workers: 0, memoryBytes: 0 } });
      expect(same(sharded)).toBe(same(r));
    } finally {
      await pool.close();
    }
  });
});

describe("server-restart: the reconnect storm as one workload", () => {
  const storm = (workload: object, listen: object = {}): Scenario => ({
    name: "storm", seed: 3, duration: "40s", sample: "500ms",
    hosts: {
      client: { ip: "10.0.0.1", tcp: { timeWait: "5s" } },
      server: { ip: "10.0.0.2", listen: [{ port: 80, ...listen }] },
    },
    links: [{ between: ["client", "server"], latency: "2ms" }],
    workloads: [{ from: "client", to: "server:80", clients: 50, think: "50ms", backoff: "100ms", backoffMax: "5s", closer: "server", ...workload } as never],
  });

  test("is a closed loop against a listener that stops at `at` and binds again `down` later", async () => {
    const a = await runDebug(storm({ plugin: "server-restart", at: "10s", down: "2s" }));
    const b = await runDebug(storm({ plugin: "closed-loop" }, { stop: "10s", start: "12s" }));
    expect(stable(a).replace('"name":"storm"', "")).toBe(stable(b).replace('"name":"storm"', ""));
    // The storm itself: refusals while down, and EADDRINUSE until the server's TIME_WAITs (5 s) end.
    expect(a.totals.failed.ECONNREFUSED).toBeGreaterThan(50);
    expect(a.totals.failed.EADDRINUSE).toBeGreaterThan(0);
    const withReuse = await runScenario(storm({ plugin: "server-restart", at: "10s", down: "2s", reuseAddr: true }));
    expect(withReuse.totals.failed.EADDRINUSE).toBe(0);
    expect(withReuse.totals.failed.ECONNREFUSED).toBeLessThan(a.totals.failed.ECONNREFUSED);
  });

  test("needs a listener to restart, and one place that says when", () => {
    const noServer = storm({ plugin: "server-restart", at: "10s", down: "2s", to: "server:81" });
    expect(() => planScenario(noServer)).toThrow(
      'scenario.workloads.0.to: nothing listens on tcp port 81 of "server", so there is no server to restart; add it to hosts.server.listen');
    expect(() => planScenario(storm({ plugin: "server-restart", at: "10s", down: "2s" }, { stop: "5s" }))).toThrow(ScenarioError);
    expect(() => planScenario(storm({ plugin: "server-restart", at: "10s" }))).toThrow(
      'scenario.workloads.0.down: is required: a duration like "60s", "500us", "2ms" or a number of seconds (plugin "server-restart" 1.0.0)');
  });
});
