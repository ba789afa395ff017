// Property-based tests (fast-check) over random scenarios: random hosts, knobs, loss,
// staged drops and old duplicates, restarts and workloads. For each: no exception, no
// invariant broken after any slice (debug engine, assertions on), the same JSON twice,
// and, without loss, nothing left open once arrivals stop and timers run out. Then the
// scenario parser on malformed input: a plan or one ScenarioError line naming a field,
// never another exception. The SDK's options and the sweep's --vary grammar likewise.
//
// The seed is fixed so CI sees the same cases; explore more with
//   CONNSIM_FC_RUNS=300 CONNSIM_FC_SEED=$RANDOM npx vitest run test/properties.test.ts

import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { planScenario, runScenario, ScenarioError, type Result, type Scenario } from "../sdk/index.js";
import { parseVary, planSweep } from "../sdk/workers/sweep.js";

const RUNS = Number(process.env.CONNSIM_FC_RUNS ?? 25);
const SEED = Number(process.env.CONNSIM_FC_SEED ?? 20261125);
const STATES = ["SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"] as const;
const FLAGS = ["S", "S.", ".", "P.", "F.", "R", "R.", "any"] as const;

const ms = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => `${n}ms`);

const rule = (ends: [string, string], duplicate: boolean) => fc.record({
  from: fc.option(fc.constantFrom(...ends), { nil: undefined }),
  flags: fc.option(fc.constantFrom(...FLAGS), { nil: undefined }),
  state: fc.option(fc.constantFrom(...STATES), { nil: undefined }),
  nth: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
  ...(duplicate ? { delay: ms(1, 3000) } : {}),
}, { requiredKeys: [] });

const loss = (ends: [string, string]) => fc.oneof(
  fc.constant(undefined),
  fc.record({ plugin: fc.constant("bernoulli"), p: fc.double({ min: 0, max: 0.3, noNaN: true }) }),
  fc.record({ plugin: fc.constant("gilbert-elliott"), p: fc.double({ min: 0, max: 0.2, noNaN: true }), r: fc.double({ min: 0.1, max: 1, noNaN: true }), k: fc.double({ min: 0.9, max: 1, noNaN: true }), h: fc.double({ min: 0, max: 0.5, noNaN: true }) }),
  fc.record({ plugin: fc.constant("drop"), rules: fc.array(rule(ends, false), { minLength: 1, maxLength: 3 }) }),
  fc.record({ plugin: fc.constant("delay-duplicate"), rules: fc.array(rule(ends, true), { minLength: 1, maxLength: 3 }) }),
);

const tcp = fc.record({
  timeWait: ms(100, 5000), twReuse: fc.constantFrom(0, 1), maxTwBuckets: fc.integer({ min: 0, max: 500 }),
  finTimeout: ms(500, 5000), synRetries: fc.integer({ min: 0, max: 4 }), synackRetries: fc.integer({ min: 0, max: 4 }),
  retries2: fc.integer({ min: 1, max: 4 }), orphanRetries: fc.integer({ min: 1, max: 4 }), rtoMax: ms(1000, 3000),
  mss: fc.integer({ min: 200, max: 1460 }),
}, { requiredKeys: ["timeWait", "finTimeout", "rtoMax", "retries2", "orphanRetries", "synRetries", "synackRetries"] });

const workload = (from: string) => fc.record({
  plugin: fc.constant("tcp-churn" as const), from: fc.constant(from), to: fc.constantFrom("server:80", "server:443", "server:8080"),
  rate: fc.integer({ min: 1, max: 150 }), arrival: fc.constantFrom("constant", "poisson"),
  request: fc.integer({ min: 0, max: 30000 }), response: fc.integer({ min: 0, max: 30000 }),
  closer: fc.constantFrom("client", "server", "both"), halfClose: fc.boolean(), linger0: fc.boolean(),
  count: fc.integer({ min: 1, max: 150 }), stop: fc.constant("8s"),
}, { requiredKeys: ["plugin", "from", "to", "rate", "count", "stop"] });

const scenario: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 40 }),
  profile: fc.constantFrom("linux", "rfc9293", "windows"),
  clients: fc.integer({ min: 1, max: 2 }),
  ports: fc.integer({ min: 5, max: 300 }),
  clientTcp: tcp, serverTcp: tcp,
  restart: fc.option(fc.record({ stop: ms(500, 5000), after: ms(0, 3000), reuseAddr: fc.boolean() }), { nil: undefined }),
  latency: ms(1, 30),
  lossA: loss(["a", "server"]), lossB: loss(["b", "server"]),
  workloadsA: fc.array(workload("a"), { minLength: 1, maxLength: 3 }),
  workloadsB: fc.array(workload("b"), { minLength: 0, maxLength: 2 }),
  udp: fc.option(fc.record({ rate: fc.integer({ min: 1, max: 100 }), port: fc.constantFrom(53, 54), timeout: ms(50, 3000) }), { nil: undefined }),
}).map((g) => {
  const clients = g.clients === 2 ? ["a", "b"] : ["a"];
  const hosts: Scenario["hosts"] = {
    server: {
      ip: "10.0.0.100", tcp: g.serverTcp,
      listen: [
        { port: 80, backlog: 16 },
        { port: 53, protocol: "udp" as const },
        { port: 443, ...(g.restart ? { stop: g.restart.stop, start: `${parseInt(g.restart.stop) + parseInt(g.restart.after)}ms`, reuseAddr: g.restart.reuseAddr } : {}) },
      ],
    },
  };
  clients.forEach((c, i) => { hosts[c] = { ip: `10.0.0.${i + 1}`, ports: `40000-${40000 + g.ports - 1}`, tcp: g.clientTcp }; });
  return {
    name: "property", seed: g.seed, profile: g.profile as "linux", duration: "40s", sample: "500ms", hosts,
    links: clients.map((c) => ({ between: [c, "server"] as [string, string], latency: g.latency, ...((c === "a" ? g.lossA : g.lossB) ? { loss: (c === "a" ? g.lossA : g.lossB)! } : {}) })),
    workloads: [...g.workloadsA, ...(g.clients === 2 ? g.workloadsB : []),
      ...(g.udp ? [{ plugin: "udp-request" as const, from: "a", to: `server:${g.udp.port}`, rate: g.udp.rate, timeout: g.udp.timeout, stop: "8s" }] : [])],
  } as Scenario;
});

// Wall time, and the engine's memory: the invariant checks' scratch tables live in its linear memory too.
const stable = (r: Result) => JSON.stringify({ ...r, engine: { ...r.engine, wallSeconds: 0, memoryBytes: 0 } });
const lossless = (s: Scenario) => s.links.every((l) => !l.loss);

describe("random scenarios", () => {
  test("no exception, every invariant after every slice, the same JSON twice, nothing left open without loss", async () => {
    await fc.assert(fc.asyncProperty(scenario, async (s) => {
      const r = await runScenario(s, { flavour: "debug", checkInvariants: true, sliceEvents: 2_000 });
      expect(r.error).toBeUndefined();
      const t = r.totals;
      expect(t.pending).toBeGreaterThanOrEqual(0);
      expect(t.completed).toBeLessThanOrEqual(t.established);
      expect(t.established + t.pending).toBeLessThanOrEqual(t.attempted);
      expect(stable(await runScenario(s, { flavour: "debug" }))).toBe(stable(r));
      if (lossless(s)) {
        // Arrivals stop at 8 s; 32 s later every connection has closed or been given up.
        const open = Object.entries(r.series.states).filter(([n]) => n !== "LISTEN").map(([, v]) => v.at(-1)!);
        expect(open.reduce((a, b) => a + b, 0)).toBe(0);
        expect(Object.values(r.series.udpSockets).map((v) => v.at(-1))).toEqual(Object.keys(r.series.udpSockets).map(() => 0));
        expect(t.pending).toBe(0);
      }
    }), { numRuns: RUNS, seed: SEED, verbose: true });
  }, 120_000);
});

describe("the scenario parser on malformed input", () => {
  const base = (): Record<string, any> => ({
    name: "fuzz", duration: "10s",
    hosts: { client: { ip: "10.0.0.1", ports: "40000-40999", tcp: { timeWait: "60s" } }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms", loss: { plugin: "bernoulli", p: 0.1 } }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 10, closer: "client" }],
  });
  /** Every path into the base scenario, so a mutation can land anywhere. */
  const paths = (node: unknown, at: (string | number)[] = []): (string | number)[][] =>
    node !== null && typeof node === "object"
      ? [at, ...Object.entries(node).flatMap(([k, v]) => paths(v, [...at, Array.isArray(node) ? Number(k) : k]))]
      : [at];
  const PATHS = paths(base()).filter((p) => p.length > 0);

  const mutation = fc.record({
    path: fc.constantFrom(...PATHS),
    kind: fc.constantFrom("replace", "delete", "add"),
    value: fc.oneof(fc.anything(), fc.string(), fc.double(), fc.integer(), fc.constantFrom("-5s", "1e400", "0", "", "NaN", "65536", "a-b", "10.0.0.999", "x:y")),
    key: fc.string({ maxLength: 12 }),
  });

  test("every mutation gives a plan or one line naming the field; nothing else is thrown", () => {
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
      const s = base();
      for (const m of mutations) {
        let parent: any = s;
        for (const k of m.path.slice(0, -1)) parent = parent?.[k];
        if (parent === null || typeof parent !== "object") continue;
        const last = m.path[m.path.length - 1];
        if (m.kind === "replace") parent[last] = m.value;
        else if (m.kind === "delete") delete parent[last];
        else if (!Array.isArray(parent)) parent[m.key] = m.value;
      }
      try {
        planScenario(s);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        const message = (e as ScenarioError).message;
        expect(message).not.toMatch(/[\r\n]/);
        expect(message).toMatch(/^scenario(\.|:)/);
        expect(message).not.toMatch(/Invalid input|received|undefined is not|Cannot read prop/);
      }
    }), { numRuns: RUNS * 40, seed: SEED });
  });

  test("anything at all where the scenario goes", () => {
    fc.assert(fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withMap: true, withSet: true }), (v) => {
      try {
        planScenario(v);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as Error).message).not.toMatch(/[\r\n]/);
      }
    }), { numRuns: RUNS * 20, seed: SEED });
  });
});

describe("plugins on malformed input", () => {
  test("definePlugin on anything: a plugin, or a PluginError naming what is missing", async () => {
    const { definePlugin, PluginError } = await import("../sdk/index.js");
    fc.assert(fc.property(fc.record({
      name: fc.oneof(fc.string(), fc.anything()), version: fc.oneof(fc.string(), fc.anything()),
      kind: fc.oneof(fc.constant("loss"), fc.anything()),
      kernel: fc.oneof(fc.constant(() => ({ model: "none" })), fc.anything()),
      hook: fc.oneof(fc.constant(() => ({ decide() {} })), fc.anything()),
    }, { requiredKeys: [] }), (p) => {
      try {
        definePlugin(p as never);
      } catch (e) {
        expect(e).toBeInstanceOf(PluginError);
        expect((e as Error).message).toMatch(/^plugin "([^"\\\n]|\\.)*": [^\n]+$/);
      }
    }), { numRuns: RUNS * 20, seed: SEED });
  });

  test("a plugin's options fuzzed: a plan, or one line naming the field and the plugin", async () => {
    const { definePlugin, z } = await import("../sdk/index.js");
    const plugin = definePlugin({
      kind: "loss", name: "fuzzed", version: "0.0.1",
      options: z.strictObject({ p: z.number().min(0).max(1), every: z.number().int().min(1).optional(), mode: z.enum(["a", "b"]).optional() }),
      hook: () => ({ decide() {} }),
    });
    const plugins = [plugin];
    fc.assert(fc.property(fc.dictionary(fc.constantFrom("p", "every", "mode", "extra", ""), fc.anything()), (options) => {
      const s = {
        duration: "1s", hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
        links: [{ between: ["c", "s"], latency: "1ms", loss: { ...options, plugin: "fuzzed" } }],
        workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 1 }],
      };
      try {
        planScenario(s, { plugins });
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as Error).message).toMatch(/^scenario\.links\.0\.loss[^\n]* \(plugin "fuzzed" 0\.0\.1\)$/);
      }
    }), { numRuns: RUNS * 20, seed: SEED });
  });
});

describe("the SDK's options on malformed input", () => {
  const tiny = (): Scenario => ({
    duration: "1s", sample: "250ms",
    hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["c", "s"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 5 }],
  });
  const FIELDS = ["seed", "trace", "flavour", "sliceEvents", "memoryLimit", "plugins", "hookTimeout", "workers", "baseDir",
    "checkInvariants", "signal", "onProgress", "onSlice", "engineBytes", "engineModule"] as const;
  const hostile = fc.oneof(
    fc.anything(), fc.double(), fc.integer(), fc.string(), fc.array(fc.anything(), { maxLength: 3 }),
    fc.constantFrom(NaN, -1, 0, 1.5, 2 ** 32, 2 ** 53, 1e30, -Infinity, Infinity, "x", "", null, [null], [{}], {}, true, "debug", "release"),
  );

  test("a random value in any option: a result, or one line naming options.<field>; never a hang or a TypeError", async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...FIELDS), hostile, async (field, value) => {
      try {
        const r = await runScenario(tiny(), { [field]: value } as never);
        expect(r.totals.attempted).toBeGreaterThan(0);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as Error).message).toMatch(new RegExp(`^options\\.${field}(\\.\\d+)?: [^\\n]+$`));
      }
    }), { numRuns: RUNS * 12, seed: SEED });
  }, 120_000);

  test("planScenario's seed and trace overrides: a plan, or one line naming the field", () => {
    fc.assert(fc.property(fc.constantFrom("seed", "trace"), hostile, (field, value) => {
      try {
        const plan = planScenario(tiny(), { [field]: value });
        expect(Number.isSafeInteger(plan[field])).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as Error).message).toMatch(new RegExp(`^options\\.${field}: [^\\n]+$`));
      }
    }), { numRuns: RUNS * 40, seed: SEED });
  });
});

describe("the sweep's --vary grammar on random strings", () => {
  const base = JSON.parse(readFileSync(new URL("../examples/default.json", import.meta.url), "utf8"));
  const KEYS = ["workloads", "hosts", "client", "server", "links", "tcp", "timeWait", "rate", "name", "seed", "duration", "plugin",
    "ports", "between", "loss", "length", "__proto__", "constructor", "prototype", "toString", "0", "1", "3", "", " "];
  const VALUES = ["1e12", "NaN", "true", "x", "", "60s", "10", "-5", "1.5", "99999999", "=cmd|calc", "bernoulli", "0x10", "1e400", "@x"];
  const TOKENS = [...KEYS, ...VALUES, ".", "=", ",", ":", "-"];
  // Mostly well-formed (a path of keys, then values or a range), sometimes any string.
  const spec = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.array(fc.constantFrom(...KEYS), { minLength: 1, maxLength: 4 }), fc.oneof(
      fc.array(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 3 }).map((v) => v.join(",")),
      fc.tuple(fc.constantFrom(...VALUES), fc.constantFrom(...VALUES), fc.integer({ min: -1, max: 300 })).map(([a, b, n]) => `${a}:${b}:${n}`),
    )).map(([path, values]) => `${path.join(".")}=${values}`) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 10 }).map((t) => t.join("")) },
    { weight: 1, arbitrary: fc.string() },
  );
  const protoKeys = () => Object.getOwnPropertyNames(Object.prototype).join(",");

  test("a clean one-line error naming the --vary, or a grid of checked plans; Object.prototype untouched", () => {
    const before = protoKeys();
    fc.assert(fc.property(fc.array(spec, { minLength: 1, maxLength: 3 }), (specs) => {
      try {
        const varies = specs.map(parseVary);
        if (varies.reduce((n, v) => n * v.values.length, 1) > 200) return; // big grids: another test's limit
        const { grid, plans } = planSweep(base, varies);
        expect(plans).toHaveLength(grid.length);
        for (const p of plans) expect(p.workloads.length).toBeGreaterThan(0);
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        expect((e as Error).message).toMatch(/^--vary [^\n]+$/);
      }
      expect(protoKeys()).toBe(before);
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    }), { numRuns: RUNS * 40, seed: SEED });
  });
});
