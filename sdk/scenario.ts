// The scenario: what users write, checked before anything runs, and the plan the
// engine is configured from. Shape checks use zod (typed schemas with paths on every
// issue, so each error names its field); cross-references (a link to an unknown host,
// a workload between hosts no link joins) are checked by hand after the shape.
// Every problem becomes one ScenarioError line: the field, what is wrong, what is allowed.

import { z } from "zod";
import { PROFILE_NAMES, PROFILES, type TcpKnobs } from "./profiles.js";
import { closest, formatIPv4, parseDuration, parseIPv4, parsePortRange, typeName } from "./units.js";
import { isModuleRef, type Plugin } from "./plugins.js";

export class ScenarioError extends Error {
  constructor(public readonly field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.name = "ScenarioError";
  }
}

const duration = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = parseDuration(v);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
}).describe('a duration like "60s", "500us", "2ms" or a number of seconds');
const count = z.number().int().min(0);
const bytes = z.number().int().min(0);
const prob = z.number().min(0).max(1);
const ipv4 = z.string().superRefine((v, ctx) => {
  const r = parseIPv4(v);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
});
const portRange = z.string().superRefine((v, ctx) => {
  const r = parsePortRange(v);
  if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
});
const port = z.number().int().min(1).max(65535);

const tcpKnobs = z.strictObject({
  timeWait: duration, rtoInit: duration, rtoMin: duration, rtoMax: duration,
  synRetries: count.max(255), synackRetries: count.max(255), retries2: count.max(255), orphanRetries: count.max(255),
  finTimeout: duration, twReuse: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  maxTwBuckets: count, mss: z.number().int().min(64).max(65495),
}).partial();

const listen = z.strictObject({
  port,
  protocol: z.enum(["tcp", "udp"]).optional(),
  backlog: z.number().int().min(1).optional(),
  // A server process that stops and starts: at `stop` its sockets are closed; at `start`
  // it binds (again, when after the stop; EADDRINUSE without reuseAddr while TIME_WAIT
  // holds the port; when before any stop, nothing listens until then).
  start: duration.optional(),
  stop: duration.optional(),
  reuseAddr: z.boolean().optional(),
  bindRetry: duration.optional(),
});

const host = z.strictObject({
  ip: z.union([ipv4, z.array(ipv4).min(1)]).describe('an IPv4 address like "10.0.0.1" or a list of them'),
  ports: portRange.optional(),
  portAllocator: z.enum(["sequential", "random", "linux"]).optional(),
  // ip_local_reserved_ports: "40010-40019,40500"; connect() and UDP queries skip them.
  reservedPorts: z.string().superRefine((v, ctx) => {
    for (const part of v.split(",")) {
      const r = parsePortRange(part);
      if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
    }
  }).optional(),
  tcp: tcpKnobs.optional(),
  listen: z.array(listen).optional(),
});

/** tcpdump's flag letters: S F R P and "." for ACK, e.g. "S", "S.", ".", "F.", "R". */
const flagsText = z.string().regex(/^(any|[SFRP]*\.?)$/, 'expected tcpdump flags like "S", "S.", ".", "P.", "F.", "R" or "any"');

const rule = z.strictObject({
  from: z.string().optional(),
  flags: flagsText.optional(),
  state: z.enum(["CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
    "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]).optional(),
  conn: count.optional(),
  nth: z.number().int().min(1).optional(),
  delay: duration.optional(),
});

const loss = z.discriminatedUnion("plugin", [
  z.strictObject({ plugin: z.literal("none") }),
  z.strictObject({ plugin: z.literal("bernoulli"), p: prob }),
  z.strictObject({ plugin: z.literal("gilbert-elliott"), p: prob, r: prob, k: prob.optional(), h: prob.optional() }),
  z.strictObject({ plugin: z.literal("drop"), rules: z.array(rule).min(1) }),
  z.strictObject({ plugin: z.literal("delay-duplicate"), rules: z.array(rule).min(1) }),
]);

const link = z.strictObject({
  between: z.tuple([z.string(), z.string()]),
  latency: z.union([duration, z.tuple([duration, duration])])
    .describe('a duration like "500us", or ["a-to-b", "b-to-a"] durations'),
  loss: loss.optional(),
});

/** A size in bytes, fixed or drawn per connection. */
const size = z.union([
  bytes,
  z.strictObject({ dist: z.literal("uniform"), min: bytes, max: bytes }),
  z.strictObject({ dist: z.literal("exponential"), mean: z.number().positive() }),
  z.strictObject({ dist: z.literal("lognormal"), median: z.number().positive(), sigma: z.number().min(0).max(5) }),
]).describe('bytes, or { "dist": "uniform", "min", "max" } | { "dist": "exponential", "mean" } | { "dist": "lognormal", "median", "sigma" }');

// The fields the workload kernels share: who talks to whom, how much, who closes, when.
const endpoints = {
  from: z.string(),
  to: z.string().regex(/^[^:]+:\d+$/, 'expected "host:port", e.g. "server:80"'),
};
const staging = {
  closer: z.enum(["client", "server", "both"]).optional(),
  linger0: z.boolean().optional(),
  start: duration.optional(),
  stop: duration.optional(),
  count: count.optional(),
};
const exchange = { ...endpoints, request: size.optional(), response: size.optional(), halfClose: z.boolean().optional(), ...staging };
// After a failed try a closed-loop client waits a random time up to min(backoffMax, backoff x 2^(tries-1)).
const backoff = { backoff: duration.optional(), backoffMax: duration.optional() };

/** N clients, each: connect, request, response, close, think, again. */
const closedLoop = z.strictObject({
  plugin: z.literal("closed-loop"),
  clients: z.number().int().min(1).max(1_000_000),
  think: duration.optional(),
  ...backoff,
  ...exchange,
});

/** M connections kept open for K exchanges each, then closed and opened again (a client's pool). */
const keepalivePool = z.strictObject({
  plugin: z.literal("keepalive-pool"),
  ...endpoints,
  connections: z.number().int().min(1).max(1_000_000),
  requests: z.number().int().min(1).max(1_000_000),
  request: z.number().int().min(1).optional(),
  response: z.number().int().min(1).optional(),
  think: duration.optional(),
  ...backoff,
  ...staging,
});

/** A new UDP socket per query: its port is held until the reply comes, or `timeout`. */
const udpRequest = z.strictObject({
  plugin: z.literal("udp-request"),
  ...endpoints,
  rate: z.number().min(0),
  arrival: z.enum(["constant", "poisson"]).optional(),
  request: size.optional(),
  response: size.optional(),
  timeout: duration.optional(),
  start: duration.optional(),
  stop: duration.optional(),
  count: count.optional(),
});

const rateStep = z.strictObject({ at: duration, rate: z.number().min(0) });

const tcpChurn = z.strictObject({
  plugin: z.literal("tcp-churn"),
  ...endpoints,
  rate: z.union([z.number().min(0), z.array(rateStep).min(1).max(64)])
    .describe('a number of connections a second, or steps like [{ "at": "0s", "rate": 100 }, { "at": "30s", "rate": 500 }]'),
  arrival: z.enum(["constant", "poisson"]).optional(),
  ...exchange,
  localPort: port.optional(),
});

const workload = z.discriminatedUnion("plugin", [tcpChurn, closedLoop, keepalivePool, udpRequest]);

const scenarioSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  duration,
  sample: duration.optional(),
  profile: z.enum(PROFILE_NAMES as [string, ...string[]]).optional(),
  trace: count.optional(),
  hosts: z.record(z.string().regex(/^[A-Za-z_][\w-]*$/, "host names are letters, digits, '_' and '-'"), host)
    .refine((h) => Object.keys(h).length > 0, "at least one host is needed"),
  links: z.array(link),
  workloads: z.array(workload),
});

export type Scenario = z.input<typeof scenarioSchema>;
export type LossSpec = z.infer<typeof loss>;
export type RuleSpec = z.infer<typeof rule>;

// ---- the plan the engine is configured from ---------------------------------------------

// `stream` is an item's index in the whole scenario: it numbers the item's random
// stream in the engine, so a shard that holds some of the items draws what one
// instance holding all of them would.
export interface PlannedHost {
  name: string;
  stream: number;
  ips: number[];
  ports: [number, number];
  portAllocator: "sequential" | "random" | "linux";
  reservedPorts: [number, number][];
  tcp: TcpKnobs;
  listen: PlannedListener[];
}
/** Times in us; start 0 = bound from the beginning, stop 0 = never stops. */
export interface PlannedListener { port: number; protocol: "tcp" | "udp"; backlog: number; start: number; stop: number; reuseAddr: boolean; bindRetry: number }
/** A loss model from a plugin (not built in): its name, the module it came from if any, its checked options. */
export interface CustomLoss { plugin: string; module?: string; options: Record<string, unknown> }
export interface PlannedLink { a: string; b: string; stream: number; latencyAB: number; latencyBA: number; loss?: LossSpec | CustomLoss }
export type SizeSpec = z.infer<typeof size>;
export interface PlannedWorkload {
  plugin: "tcp-churn" | "closed-loop" | "keepalive-pool" | "udp-request";
  stream: number;
  from: string; to: string; dstPort: number;
  /** Open loop: arrivals a second. Closed loop: 0, and `clients` clients thinking `think` us. */
  rate: number; arrival: "constant" | "poisson";
  /** Which step of a stepped rate this is (0: the first, or no steps). */
  step: number;
  clients: number; think: number;
  /** Exchanges per connection (keepalive-pool; 1 otherwise). */
  requests: number;
  /** Closed loops: the first wait after a failed try, and the most any wait may be (us; 0 = think time). */
  backoff: number; backoffMax: number;
  /** udp-request: how long a query waits for its reply, us. */
  udpTimeout: number;
  request: SizeSpec; response: SizeSpec; closer: "client" | "server" | "both";
  halfClose: boolean; linger0: boolean;
  start: number; stop: number; count: number; localPort: number;
}
export interface Plan {
  name: string;
  seed: number;
  profile: string;
  duration: number;   // us
  sample: number;     // us
  trace: number;
  hosts: PlannedHost[];
  links: PlannedLink[];
  workloads: PlannedWorkload[];
}

const DURATION_KNOBS = new Set<keyof TcpKnobs>(["timeWait", "rtoInit", "rtoMin", "rtoMax", "finTimeout"]);
const TOP_FIELDS = Object.keys(scenarioSchema.shape);
const MAX_DURATION_US = 2 ** 42 - 1; // the timing wheel's horizon, about 50 days
const MAX_RESULT_NUMBERS = 200e6;

export interface PlanOptions {
  seed?: number;
  trace?: number;
  /** Plugins the scenario may name, by name or by the module path it gives (loadPlugins). */
  plugins?: Map<string, Plugin & { module?: string }>;
}

/** Loss models the engine runs itself, named by the scenario schema below. */
export const BUILT_IN_LOSS = new Set(["none", "bernoulli", "gilbert-elliott", "drop", "delay-duplicate"]);

/** Checks a scenario and returns the plan, or throws one ScenarioError naming the field. */
export function planScenario(input: unknown, overrides: PlanOptions = {}): Plan {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ScenarioError("scenario", `expected an object with ${TOP_FIELDS.join(", ")}, got ${typeName(input)}`);
  }
  // Plugin losses are checked by their plugin's schema; the rest of the scenario by ours.
  const custom = new Map<number, CustomLoss>();
  const givenLinks = (input as { links?: unknown }).links;
  if (Array.isArray(givenLinks)) {
    givenLinks.forEach((l, i) => {
      const loss = (l as { loss?: unknown } | null)?.loss as { plugin?: unknown } | undefined;
      if (!loss || typeof loss !== "object" || typeof loss.plugin !== "string" || BUILT_IN_LOSS.has(loss.plugin)) return;
      const field = `scenario.links.${i}.loss`;
      const plugin = overrides.plugins?.get(loss.plugin);
      if (!plugin) {
        if (isModuleRef(loss.plugin)) throw new ScenarioError(`${field}.plugin`, `plugin module ${JSON.stringify(loss.plugin)} is not loaded (runScenario and the CLI load it; planScenario needs it in plugins)`);
        return; // not a plugin: the schema names it and the built-ins
      }
      custom.set(i, { plugin: plugin.name, module: plugin.module, options: checkPluginOptions(plugin, loss, field) });
    });
  }
  const parsed = scenarioSchema.safeParse(custom.size === 0 ? input : {
    ...input, links: (givenLinks as object[]).map((l, i) => (custom.has(i) ? { ...l, loss: { plugin: "none" } } : l)),
  });
  if (!parsed.success) throw fromZod(parsed.error, input);
  const sc = parsed.data;
  const us = (v: string | number) => parseDuration(v) as number;

  const profile = sc.profile ?? "linux";
  const base = PROFILES[profile];
  const duration = us(sc.duration);
  if (duration <= 0) throw new ScenarioError("scenario.duration", "must be more than zero");
  if (duration > MAX_DURATION_US) throw new ScenarioError("scenario.duration", "must be under 50 days (2^42 us)");
  const sample = sc.sample === undefined ? Math.max(1, Math.round(duration / 100)) : us(sc.sample);
  if (sample <= 0) throw new ScenarioError("scenario.sample", "must be more than zero");
  if (duration / sample > 1e6) throw new ScenarioError("scenario.sample", `gives ${Math.ceil(duration / sample)} samples; at most 1000000 are kept, use a longer sample`);
  // The result holds about 12 numbers per host and sample; past ~200 million it would not fit in a JS heap.
  const numbers = (Math.floor(duration / sample) + 1) * (Object.keys(sc.hosts).length * 12 + 6);
  if (numbers > MAX_RESULT_NUMBERS) {
    throw new ScenarioError("scenario.sample", `${Math.floor(duration / sample) + 1} samples of ${Object.keys(sc.hosts).length} hosts make a result of ${(numbers / 1e6).toFixed(0)} million numbers (at most ${MAX_RESULT_NUMBERS / 1e6} million); use a longer sample`);
  }

  const hosts: PlannedHost[] = [];
  const ipOwner = new Map<number, string>();
  for (const [name, h] of Object.entries(sc.hosts)) {
    const field = `scenario.hosts.${name}`;
    const ips = (Array.isArray(h.ip) ? h.ip : [h.ip]).map((a) => parseIPv4(a) as number);
    for (const ip of ips) {
      const other = ipOwner.get(ip);
      if (other === name) throw new ScenarioError(`${field}.ip`, `address ${formatIPv4(ip)} is listed twice`);
      if (other !== undefined) throw new ScenarioError(`${field}.ip`, `address ${formatIPv4(ip)} is already used by host "${other}"`);
      ipOwner.set(ip, name);
    }
    const tcp: TcpKnobs = { ...base.tcp };
    for (const [k, v] of Object.entries(h.tcp ?? {}) as [keyof TcpKnobs, string | number][]) {
      tcp[k] = DURATION_KNOBS.has(k) ? us(v) : (v as number);
    }
    if (tcp.rtoMin > tcp.rtoMax) throw new ScenarioError(`${field}.tcp.rtoMin`, "is above rtoMax");
    if (tcp.timeWait > 4294e6 || tcp.rtoMax > 4294e6 || tcp.finTimeout > 4294e6 || tcp.rtoInit > 65e6) {
      throw new ScenarioError(`${field}.tcp`, "timers must stay under 4294s (rtoInit under 65s)");
    }
    const listen: PlannedListener[] = (h.listen ?? []).map((l, i) => {
      const at = `${field}.listen.${i}`;
      const start = l.start === undefined ? 0 : us(l.start);
      const stop = l.stop === undefined ? 0 : us(l.stop);
      const bindRetry = l.bindRetry === undefined ? 1e6 : us(l.bindRetry);
      if (l.stop !== undefined && stop <= 0) throw new ScenarioError(`${at}.stop`, "must be more than zero (the server stops during the run)");
      if (bindRetry < 1000) throw new ScenarioError(`${at}.bindRetry`, "must be at least 1ms");
      return { port: l.port, protocol: l.protocol ?? "tcp", backlog: l.backlog ?? 4096, start, stop, reuseAddr: l.reuseAddr ?? false, bindRetry };
    });
    const seen = new Set<string>();
    listen.forEach((l, i) => {
      if (seen.has(`${l.protocol}/${l.port}`)) throw new ScenarioError(`${field}.listen.${i}.port`, `${l.protocol} port ${l.port} is listed twice`);
      seen.add(`${l.protocol}/${l.port}`);
    });
    hosts.push({
      name, stream: hosts.length, ips, ports: h.ports ? (parsePortRange(h.ports) as [number, number]) : base.ports,
      portAllocator: h.portAllocator ?? "sequential", tcp, listen,
      reservedPorts: h.reservedPorts ? h.reservedPorts.split(",").map((r) => parsePortRange(r) as [number, number]) : [],
    });
  }
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const hostField = (field: string, name: string) => {
    if (!byName.has(name)) {
      const hint = closest(name, [...byName.keys()]);
      throw new ScenarioError(field, `unknown host ${JSON.stringify(name)}${hint ? `; did you mean "${hint}"?` : "."} Hosts: ${[...byName.keys()].join(", ")}`);
    }
    return name;
  };

  const links: PlannedLink[] = [];
  const linked = new Set<string>();
  sc.links.forEach((l, i) => {
    const field = `scenario.links.${i}`;
    const a = hostField(`${field}.between.0`, l.between[0]);
    const b = hostField(`${field}.between.1`, l.between[1]);
    if (a === b) throw new ScenarioError(`${field}.between`, "a link joins two different hosts");
    const key = [a, b].sort().join("\u0000");
    if (linked.has(key)) throw new ScenarioError(`${field}.between`, `hosts "${a}" and "${b}" are already linked`);
    linked.add(key);
    const [ab, ba] = Array.isArray(l.latency) ? l.latency.map(us) : [us(l.latency), us(l.latency)];
    if (ab < 1 || ba < 1) throw new ScenarioError(`${field}.latency`, "must be at least 1us");
    if (l.loss && (l.loss.plugin === "drop" || l.loss.plugin === "delay-duplicate")) {
      l.loss.rules.forEach((r, j) => {
        if (r.from !== undefined && r.from !== a && r.from !== b) {
          throw new ScenarioError(`${field}.loss.rules.${j}.from`, `must be one end of the link: "${a}" or "${b}"`);
        }
      });
    }
    links.push({ a, b, stream: links.length, latencyAB: ab, latencyBA: ba, loss: custom.get(i) ?? l.loss });
  });

  const workloads: PlannedWorkload[] = sc.workloads.flatMap((w, i): PlannedWorkload[] => {
    const field = `scenario.workloads.${i}`;
    const from = hostField(`${field}.from`, w.from);
    const [toName, toPort] = w.to.split(":");
    const to = hostField(`${field}.to`, toName);
    const dstPort = Number(toPort);
    if (!(dstPort >= 1 && dstPort <= 65535)) throw new ScenarioError(`${field}.to`, `port ${toPort} is outside 1-65535`);
    if (!linked.has([from, to].sort().join("\u0000"))) {
      throw new ScenarioError(`${field}.to`, `no link joins "${from}" and "${to}"; add { "between": ["${from}", "${to}"], "latency": "1ms" } to links`);
    }
    for (const which of ["request", "response"] as const) {
      const sz = w[which];
      if (typeof sz === "object" && sz.dist === "uniform" && sz.min > sz.max) throw new ScenarioError(`${field}.${which}.min`, `is above max (${sz.max})`);
    }
    const common = {
      plugin: w.plugin, stream: i, from, to, dstPort, step: 0, udpTimeout: 0,
      request: w.request ?? 100, response: w.response ?? 1000, closer: "closer" in w ? w.closer ?? "client" : "client",
      linger0: "linger0" in w ? w.linger0 ?? false : false, count: w.count ?? 0,
      start: w.start === undefined ? 0 : us(w.start), stop: w.stop === undefined ? 0 : us(w.stop),
    } as const;
    if (w.plugin === "closed-loop" || w.plugin === "keepalive-pool") {
      const pool = w.plugin === "keepalive-pool";
      return [{
        ...common, rate: 0, arrival: "constant", clients: pool ? w.connections : w.clients,
        think: w.think !== undefined ? us(w.think) : 0, requests: pool ? w.requests : 1,
        backoff: w.backoff !== undefined ? us(w.backoff) : 0, backoffMax: w.backoffMax !== undefined ? us(w.backoffMax) : 30e6,
        halfClose: !pool && (w.halfClose ?? false), localPort: 0,
      }];
    }
    if (w.plugin === "udp-request") {
      return [{
        ...common, rate: w.rate, arrival: w.arrival ?? "poisson", clients: 0, think: 0, requests: 1,
        backoff: 0, backoffMax: 0, halfClose: false, localPort: 0, udpTimeout: w.timeout !== undefined ? us(w.timeout) : 5e6,
      }];
    }
    const planned: PlannedWorkload = {
      ...common, rate: Array.isArray(w.rate) ? 0 : w.rate, arrival: w.arrival ?? "poisson",
      clients: 0, think: 0, requests: 1, backoff: 0, backoffMax: 0, halfClose: w.halfClose ?? false, localPort: w.localPort ?? 0,
    };
    if (!Array.isArray(w.rate)) return [planned];
    // A rate in steps: one open-loop stream per step, from its `at` to the next one's.
    // Each step draws its own random stream, numbered past every workload's index.
    if (w.count !== undefined || w.start !== undefined) throw new ScenarioError(`${field}.rate`, "steps set their own start; leave out count and start");
    const steps = w.rate.map((s) => ({ at: us(s.at), rate: s.rate }));
    steps.forEach((s, k) => {
      if (k > 0 && s.at <= steps[k - 1].at) throw new ScenarioError(`${field}.rate.${k}.at`, `must be after the step before (${steps[k - 1].at / 1e6}s)`);
    });
    return steps.map((s, k) => ({
      ...planned, stream: k === 0 ? i : sc.workloads.length + 64 * i + k, step: k, rate: s.rate, start: s.at,
      stop: k + 1 < steps.length ? Math.min(steps[k + 1].at, planned.stop || Infinity) : planned.stop,
    }));
  });

  const seed = overrides.seed ?? sc.seed ?? 1;
  return {
    name: sc.name ?? "scenario", seed, profile, duration, sample,
    trace: overrides.trace ?? sc.trace ?? 0, hosts, links, workloads,
  };
}

/** The plugin's options, checked by its schema; a problem is one line naming the plugin and the field. */
function checkPluginOptions(plugin: Plugin, loss: object, field: string): Record<string, unknown> {
  const { plugin: _name, ...options } = loss as Record<string, unknown>;
  if (!plugin.options) return options;
  const r = plugin.options.safeParse(options);
  if (r.success) return r.data as Record<string, unknown>;
  const issue = r.error.issues.find((i) => i.code === "unrecognized_keys") ?? r.error.issues[0];
  const at = [field, ...issue.path.map(String)].join(".");
  const why = issue.code === "unrecognized_keys" ? `unknown field ${JSON.stringify(issue.keys[0])}`
    : issue.message.replace(/^Invalid input: /, "");
  throw new ScenarioError(at, `${why} (plugin "${plugin.name}" ${plugin.version})`);
}

/**
 * A rough count of the events a plan simulates: each connection a workload opens costs
 * about 10 (8 segments, its arrival, its TIME_WAIT timer; more under loss). For a
 * warning before a run that would take hours, not for billing.
 */
export function estimateEvents(plan: Plan): number {
  return plan.workloads.reduce((sum, w) => {
    const end = Math.min(plan.duration, w.stop || Infinity);
    const rate = w.clients ? w.clients / Math.max(w.think / 1e6, 0.001) : w.rate; // a closed loop: at most clients per think time
    const opened = Math.max(0, end - w.start) / 1e6 * rate;
    return sum + 10 * (w.count ? Math.min(w.count, opened) : opened);
  }, 0);
}

/** One zod issue as one line: the field path, what is wrong, what is allowed. An unknown
 *  field is reported before anything else, since a misspelt key also makes the real one
 *  look missing ("durration" leaves "duration" required). */
function fromZod(err: z.ZodError, input: unknown): ScenarioError {
  const issue = err.issues.find((i) => i.code === "unrecognized_keys") ?? err.issues[0];
  const field = (p: PropertyKey[]) => ["scenario", ...p.map(pathPart)].join(".");
  const got = valueAt(input, issue.path);
  const schema = schemaAt(input, issue.path);
  const wanted = schema?.description;
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0];
      const allowed = allowedKeys(input, issue.path);
      const hint = allowed ? closest(key, allowed) : undefined;
      return new ScenarioError(field([...issue.path, key]),
        `unknown field${hint ? `; did you mean "${hint}"?` : allowed ? "." : ""}${allowed ? ` Allowed: ${allowed.join(", ")}` : ""}`);
    }
    case "invalid_union": {
      if ("note" in issue && issue.note === "No matching discriminator") {
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const hint = typeof got === "string" ? closest(got, options) : undefined;
        return new ScenarioError(field(issue.path),
          `${got === undefined ? "is required" : `unknown plugin ${JSON.stringify(got)}`}${hint ? `; did you mean "${hint}"?` : "."} Allowed: ${options.join(", ")}`);
      }
      if (got === undefined) return new ScenarioError(field(issue.path), `is required: ${wanted ?? "a value"}`);
      if (wanted) return new ScenarioError(field(issue.path), `expected ${wanted}, got ${typeName(got)}`);
      const branches = issue.errors.map((e) => e[0]).filter((e) => e !== undefined);
      if (branches.every((b) => b.code === "invalid_value")) {
        return notAllowed(field(issue.path), got, branches.flatMap((b) => (b as { values: unknown[] }).values));
      }
      const types = branches.filter((b) => b.code === "invalid_type").map((b) => kindText((b as { expected: string }).expected));
      return new ScenarioError(field(issue.path), `expected ${types.length ? [...new Set(types)].join(" or ") : "another value"}, got ${typeName(got)}`);
    }
    case "invalid_type":
      if (got === undefined) return new ScenarioError(field(issue.path), `is required: ${wanted ?? kindText(issue.expected)}`);
      return new ScenarioError(field(issue.path), `expected ${wanted ?? kindText(issue.expected)}, got ${typeName(got)}`);
    case "invalid_value":
      return notAllowed(field(issue.path), got, issue.values);
    case "too_big":
    case "too_small": {
      const big = issue.code === "too_big";
      const limit = Number(big ? issue.maximum : issue.minimum);
      if (issue.origin === "array" || issue.origin === "set") {
        const n = Array.isArray(got) ? got.length : 0;
        const items = (k: number) => `${k} item${k === 1 ? "" : "s"}`;
        return new ScenarioError(field(issue.path), `must have ${big ? "at most" : "at least"} ${items(limit)}, got ${n}`);
      }
      const bound = big ? (issue.inclusive ? `at most ${limit}` : `below ${limit}`) : (issue.inclusive ? `at least ${limit}` : `above ${limit}`);
      return new ScenarioError(field(issue.path), `must be ${bound}, got ${typeName(got)}`);
    }
    case "invalid_key": {
      const inner = issue.issues[0]?.message ?? "not allowed";
      return new ScenarioError(field(issue.path), `${JSON.stringify(issue.path[issue.path.length - 1])} is not a valid name: ${inner}`);
    }
    default:
      return new ScenarioError(field(issue.path), issue.message.replace(/^Invalid input: /, ""));
  }
}

function notAllowed(field: string, got: unknown, values: unknown[]): ScenarioError {
  const hint = typeof got === "string" ? closest(got, values.map(String)) : undefined;
  const shown = got === undefined ? "is required" : `${JSON.stringify(got)} is not allowed`;
  return new ScenarioError(field, `${shown}${hint ? `; did you mean "${hint}"?` : "."} Allowed: ${values.map((v) => JSON.stringify(v)).join(", ")}`);
}

/** zod's type names as a user would say them. */
function kindText(expected: string): string {
  const words: Record<string, string> = {
    int: "a whole number", number: "a number", string: "a string", boolean: "true or false",
    object: "an object", record: "an object", map: "an object", array: "a list", tuple: "a list",
  };
  return words[expected] ?? expected;
}

/** A path segment as text; a key with spaces or control characters is quoted so the message stays one line. */
function pathPart(k: PropertyKey): string {
  const t = String(k);
  return /^[^\s\p{C}"]+$/u.test(t) ? t : JSON.stringify(t);
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** The schema that checks the value at a path (a plugin's fields follow its "plugin"). */
function schemaAt(input: unknown, path: PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = scenarioSchema;
  for (let i = 0; i <= path.length && schema; i++) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodDiscriminatedUnion) {
      const plugin = valueAt(input, [...path.slice(0, i), "plugin"]);
      schema = (schema.options as z.ZodObject[]).find((o) => (o.shape.plugin as z.ZodLiteral).value === plugin);
      if (!schema) return undefined;
    }
    if (i === path.length) break;
    const k = path[i];
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(k)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else if (schema instanceof z.ZodTuple) schema = (schema.def.items as z.ZodType[])[Number(k)];
    else return undefined;
  }
  return schema;
}

/** The fields the schema allows at a path, for "did you mean" on unknown keys. */
function allowedKeys(input: unknown, path: PropertyKey[]): string[] | undefined {
  const schema = schemaAt(input, path);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
}

function unwrap(s: z.ZodType): z.ZodType {
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}
