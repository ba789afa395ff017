// The scenario: what users write, checked before anything runs, and the plan the
// engine is configured from. Shape checks use zod (typed schemas with paths on every
// issue, so each error names its field); cross-references (a link to an unknown host,
// a workload between hosts no link joins) are checked by hand after the shape.
// Every problem becomes one ScenarioError line: the field, what is wrong, what is allowed.

import { z } from "zod";
import { count, durationText as duration, expectedText, flags, port, probability, unwrapSchema } from "./fields.js";
import { VARIANT_NAMES, type VariantName } from "./variants.js";
import { parseExpectation } from "./expect.js";
import {
  checkKernel, definePlugin, isModuleRef, PluginError, registeredNames, registeredPlugin, type LossPlugin, type Plugin, type PluginKind, type ModulePlugin,
} from "./plugins.js";
import type { AllocatorKernel, LossKernel, SizeSpec, WorkloadKernel } from "./kernels.js";
import { checkPlanOptions } from "./options.js";
import { PROFILE_NAMES, PROFILES, type TcpKnobs } from "./profiles.js";
import { findPath, routeGraph, workloadPaths } from "./routes.js";
import { NAT_PRESETS, type NatTimeoutName } from "./nat-presets.js";
import { closest, formatIPv4, parseDuration, parseIPv4, parsePortRange, typeName } from "./units.js";

export class ScenarioError extends Error {
  constructor(public readonly field: string, public readonly detail: string) {
    super(`${field}: ${detail}`);
    this.name = "ScenarioError";
  }
}

/**
 * The most hosts one entry stands for (the engine's host table, limits.ts). Links,
 * workloads and destinations are capped while expanding at MAX_EXPANDED, far past what
 * an engine takes, so a typo like a count of 65536 on both ends of a link is refused
 * before a billion objects are made; limits.ts then refuses what one engine cannot hold.
 */
export const MAX_FLEET = 65536;

/** Linux's conntrack defaults (nf_conntrack_tcp_timeout_*, nf_conntrack_udp_timeout(_stream)), s, in CtTimeout order. */
export const CONNTRACK_DEFAULTS = {
  synSent: 120, synRecv: 60, established: 432000, finWait: 120, closeWait: 60, lastAck: 30, timeWait: 120, close: 10, udp: 30, udpStream: 120,
};
/** nf_conntrack_max when a NAT names none (a host with 8 GiB or more: nf_conntrack_buckets 262144, max the same). */
export const CONNTRACK_MAX = 262144;
/** The keys of a workload object that are the scenario's, not its plugin's options. */
const WORKLOAD_KEYS = ["plugin", "from", "to", "source", "portAt", "via"];

// The scenario's zod schemas are made on first use: the checks that run for a scenario
// the quick check takes (quickScenario) need none of them, and making them is most of
// this module's start-up. They are for scenarios it leaves to zod, for the messages
// that name a bad field, and for the reference and the JSON Schema.
let schemas: ReturnType<typeof makeSchemas> | undefined;
const scenarioSchemas = () => (schemas ??= makeSchemas());

function makeSchemas() {
  const ipv4 = z.string().superRefine((v, ctx) => {
    const r = parseIPv4(v);
    if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
  }).meta({ typeName: "IPv4 address" });
  const portRange = z.string().superRefine((v, ctx) => {
    const r = parsePortRange(v);
    if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
  }).meta({ typeName: "port range", examples: ["40000-40999"] });
  const ipList = z.union([ipv4, z.array(ipv4).min(1)]).meta({ typeName: "IPv4 address or list", expected: 'an IPv4 address like "10.0.0.1" or a list of them' });
  const oneOf = <T extends number>(...values: T[]) => z.union(values.map((v) => z.literal(v)) as [z.ZodLiteral<T>, z.ZodLiteral<T>]);

  // Each field's .describe() is its one-line meaning: the scenario reference in
  // docs/scenario.md and the JSON Schema are made from it (scripts/scenario-docs.mjs). A
  // description is a noun phrase, since an error may say "expected <description>" (meta
  // `expected` overrides that); `default` and `defaultText` are for the reference only.
  // The TCP knobs' defaults are the profile's (profiles.ts).
  const tcpKnobs = z.strictObject({
    timeWait: duration.describe("how long a socket stays in TIME_WAIT (Linux: TCP_TIMEWAIT_LEN; RFC 9293: 2 x MSL)"),
    rtoInit: duration.describe("the first retransmission timeout, before any RTT is measured"),
    rtoMin: duration.describe("the least retransmission timeout (TCP_RTO_MIN)"),
    rtoMax: duration.describe("the most retransmission timeout (TCP_RTO_MAX)"),
    synRetries: count.max(255).describe("SYN retransmissions before connect() fails with ETIMEDOUT (tcp_syn_retries)"),
    synackRetries: count.max(255).describe("SYN-ACK retransmissions before a half-open connection is dropped (tcp_synack_retries)"),
    retries2: count.max(255).describe("data retransmissions before ETIMEDOUT (tcp_retries2)"),
    orphanRetries: count.max(255).describe("FIN retransmissions after close() (tcp_orphan_retries)"),
    finTimeout: duration.describe("how long an orphaned FIN_WAIT_2 socket waits for the peer's FIN; 0: forever (tcp_fin_timeout)"),
    twReuse: oneOf(0, 1, 2).describe("connect() may take over a tuple in TIME_WAIT: 0 off, 1 on, 2 loopback only (tcp_tw_reuse; needs timestamps)"),
    maxTwBuckets: count.describe("the most sockets in TIME_WAIT at once; past it a closing socket skips TIME_WAIT (tcp_max_tw_buckets)").meta({ unit: "sockets" }),
    mss: z.number().int().min(64).max(65495).describe("the maximum segment size").meta({ unit: "bytes" }),
    maxSynBacklog: count.max(2 ** 32 - 1).describe("the most half-open connections a listener keeps (tcp_max_syn_backlog)"),
    syncookies: oneOf(0, 1, 2).describe("SYN cookies: 0 off, 1 when the SYN queue is full, 2 always (tcp_syncookies)"),
    somaxconn: count.max(2 ** 32 - 1).describe("the cap on a listen() backlog, both queues (net.core.somaxconn)"),
    abortOnOverflow: oneOf(0, 1).describe("1: a handshake the full accept queue cannot take is reset (tcp_abort_on_overflow)"),
    hz: oneOf(0, 100, 250, 300, 1000).describe("CONFIG_HZ: timers round up on the kernel's timer wheel; 0: exact timers").meta({ unit: "Hz" }),
    synLinearTimeouts: count.max(255).describe("SYN retransmissions at rtoInit before the backoff doubles (tcp_syn_linear_timeouts, Linux 6.5+)"),
    twReuseDelay: duration.describe("how long a TIME_WAIT socket waits before twReuse may take it over (tcp_tw_reuse_delay)"),
    timestamps: oneOf(0, 1).describe("RFC 7323 timestamps (TSval, PAWS) on the host's segments; used when both ends have them (tcp_timestamps)"),
    delayedAck: oneOf(0, 1).describe("1: ACKs delayed as Linux delays them (quick-ack, pingpong, ATO 40-200 ms); 0: every ACK at once"),
  }).partial().describe("the host's TCP knobs, each named after its sysctl; unset ones are the profile's");

  const listen = z.strictObject({
    port: port.describe("the port it listens on"),
    protocol: z.enum(["tcp", "udp"]).optional().describe("the protocol it listens for").meta({ default: "tcp" }),
    backlog: z.number().int().min(1).max(2 ** 31 - 1).optional()
      .describe("listen()'s backlog, capped by the host's somaxconn").meta({ default: 4096, unit: "connections" }),
    // Completed handshakes wait in the accept queue, their requests unread, until accepted.
    acceptRate: z.number().min(0.001).max(1e6).optional()
      .describe("accept()s a second by the server application").meta({ defaultText: "unlimited", unit: "connections/s" }),
    // A server process that stops and starts: at `stop` its sockets are closed; at `start`
    // it binds (again, when after the stop; EADDRINUSE without reuseAddr while TIME_WAIT
    // holds the port; when before any stop, nothing listens until then).
    start: duration.optional().describe("when the server process binds (again, after a stop)").meta({ defaultText: "from the start" }),
    stop: duration.optional().describe("when the server process exits: unaccepted requests dropped, accepted connections closed").meta({ defaultText: "never" }),
    reuseAddr: z.boolean().optional().describe("SO_REUSEADDR: a new bind() is blocked by another listener only, not by TIME_WAIT").meta({ default: false }),
    bindRetry: duration.optional().describe("how often a bind() that failed with EADDRINUSE is tried again").meta({ default: "1s" }),
  }).describe("a listening socket");

  /** A NAT host's SNAT and conntrack settings (Linux's defaults where left out). */
  const ctTimeout = (k: keyof typeof CONNTRACK_DEFAULTS, meaning: string) => duration.describe(meaning).meta({ default: `${CONNTRACK_DEFAULTS[k]}s` });
  const natTimeouts = z.strictObject({
    synSent: ctTimeout("synSent", "an entry whose SYN is unanswered"),
    synRecv: ctTimeout("synRecv", "an entry that saw the SYN-ACK, not yet the ACK"),
    established: ctTimeout("established", "an established flow's entry, from its last packet"),
    finWait: ctTimeout("finWait", "an entry after the first FIN"),
    closeWait: ctTimeout("closeWait", "an entry whose first FIN is ACKed"),
    lastAck: ctTimeout("lastAck", "an entry after both FINs, waiting for the last ACK"),
    timeWait: ctTimeout("timeWait", "a closed flow's entry (TIME_WAIT)"),
    close: ctTimeout("close", "an entry after a RST"),
    udp: ctTimeout("udp", "a UDP flow's entry that has seen one direction"),
    udpStream: ctTimeout("udpStream", "a UDP flow's entry that has seen both directions"),
  }).partial().describe("conntrack timeouts by state (nf_conntrack_*_timeout_*), Linux's by default");
  const nat = z.strictObject({
    addresses: ipList.meta({ expected: 'the public IPv4 addresses, "10.2.0.1" or a list of them' }).optional()
      .describe("the public address(es) flows leave with").meta({ defaultText: "the host's ip" }),
    ports: portRange.optional().describe("the SNAT port range").meta({ default: "1024-65535" }),
    max: z.number().int().min(1).max(2 ** 32 - 1).optional()
      .describe("the entries the conntrack table holds; when full a new flow's first packet is dropped (nf_conntrack_max)").meta({ default: CONNTRACK_MAX, unit: "entries" }),
    timeouts: natTimeouts.optional(),
    takeover: z.boolean().optional()
      .describe("a SYN may take over a closing entry's tuple (Linux 6.5+); false: a closed flow keeps its tuple to its timeout's end").meta({ default: true }),
    preset: z.enum(Object.keys(NAT_PRESETS) as [string, ...string[]]).optional()
      .describe(`a cloud gateway as its vendor documents it (${Object.keys(NAT_PRESETS).join(", ")}): its ports, timeouts, per-host port blocks; fields given here override it`).meta({ defaultText: "none" }),
    portsPerHost: z.number().int().min(1).max(65536).optional()
      .describe("ports each inside host gets as its own block of the range (a cloud gateway's per-VM allocation)").meta({ defaultText: "none: hosts share the whole range", unit: "ports" }),
    portSearch: z.enum(["linux", "whole range"]).optional()
      .describe('"linux": nf_nat\'s rounds of random runs (128, 64, ... 8 ports), which may miss a free port in a nearly full range; "whole range": any free port is found, as a gateway that documents a count').meta({ default: "linux" }),
    resetUnknown: z.boolean().optional()
      .describe("answer an inside host's TCP packet for a flow the NAT no longer has (idle timeout) with an RST, as AWS NAT gateway; false: drop it, as Linux").meta({ default: false }),
  }).describe("a NAT host's SNAT and conntrack settings");

  /** Mechanisms left out ("why" studies, docs/why.md): a name, names joined by "+", a list of names, or "none". */
  const variantName = z.enum(VARIANT_NAMES as [VariantName, ...VariantName[]]);
  const variant = z.union([
    z.literal("none"),
    variantName,
    z.string().regex(new RegExp(`^(${VARIANT_NAMES.join("|")})(\\+(${VARIANT_NAMES.join("|")}))+$`), `expected "none", one of ${VARIANT_NAMES.join(", ")}, or names joined by "+"`),
    z.array(variantName),
  ]).describe(`TCP mechanisms left out: "none", one of ${VARIANT_NAMES.join(", ")}, names joined by "+" (e.g. "noTimeWait+sameIsn"), or a list of them (docs/why.md)`);

  /** A duplicate's delay: fixed, or drawn per copy. */
  const dupDelay = z.union([
    duration,
    z.strictObject({
      dist: z.literal("uniform").describe("each copy's delay drawn uniformly between min and max"),
      min: duration.describe("the shortest delay"), max: duration.describe("the longest delay"),
    }),
    z.strictObject({
      dist: z.literal("exponential").describe("each copy's delay drawn from an exponential distribution"),
      mean: duration.describe("the mean delay"), max: duration.describe("the longest delay (a draw above it is capped)"),
    }),
  ]).describe('a duration, or { "dist": "uniform", "min", "max" } | { "dist": "exponential", "mean", "max" } (max caps the draw)');

  /** The network keeps copies of segments and delivers them late: old duplicates. */
  const duplicate = z.strictObject({
    rate: probability.describe("the probability that a delivered segment is also copied"),
    delay: dupDelay,
    flags: flags.optional().describe('copy only segments with these tcpdump flags, e.g. "S" (default: every TCP segment)'),
  }).describe("old duplicates: each delivered segment is copied with probability `rate`, the copy arriving `delay` later (draws from the link's own stream)");

  const host = z.strictObject({
    ip: ipList.describe("the host's address, or addresses"),
    // The i-th host of a fleet has each listed address plus i ("10.0.0.1" -> 10.0.0.1, 10.0.0.2, ...).
    count: z.number().int().min(1).max(MAX_FLEET).optional()
      .describe("a fleet: the entry stands for this many hosts, NAME-0 ... NAME-(count-1), the i-th at each address plus i").meta({ default: 1, unit: "hosts" }),
    ports: portRange.optional().describe("the ephemeral port range").meta({ defaultText: "the profile's" }),
    portAllocator: z.union([z.string(), z.looseObject({})]).optional()
      .describe('the port allocator plugin: its name, or { "plugin": NAME, ...its options }').meta({ typeName: "plugin", defaultText: "the profile's" }),
    reservedPorts: z.string().superRefine((v, ctx) => {
      for (const part of v.split(",")) {
        const r = parsePortRange(part);
        if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
      }
    }).optional().describe('ports no allocator picks for connect() or a UDP query, like "40010-40019,40500" (ip_local_reserved_ports)').meta({ typeName: "port ranges" }),
    tcp: tcpKnobs.optional(),
    listen: z.array(listen).optional().describe("the host's listening sockets"),
    kind: z.enum(["endpoint", "nat"]).optional().describe('"nat": the host forwards, translating the source of the flows it passes').meta({ default: "endpoint" }),
    nat: nat.optional(),
    variant: variant.optional().describe("this host's TCP mechanisms left out (replaces the scenario's `variant` for it)").meta({ defaultText: "the scenario's" }),
  }).describe("a host, or a fleet of alike hosts");

  // Loss models and workloads are plugins: "plugin" names one, and its own schema checks
  // the rest of the object (planScenario, resolvePlugin).
  // `plugin` is checked by resolvePlugin, whose message lists the plugins there are; `type` is for the JSON Schema.
  const pluginName = (meaning: string) => z.unknown().optional().describe(meaning).meta({ type: "string", typeName: "plugin", defaultText: "required" });
  const pluginUse = z.looseObject({ plugin: pluginName("the plugin's name, or the path of a plugin module") });

  const link = z.strictObject({
    between: z.tuple([z.string(), z.string()]).describe("the names of the two hosts (or fleets) the link joins"),
    latency: z.union([duration, z.tuple([duration, duration])])
      .meta({ typeName: "duration or [a->b, b->a]", expected: 'a duration like "500us", or ["a-to-b", "b-to-a"] durations' })
      .describe("the one-way latency, the same both ways or each way"),
    loss: pluginUse.optional().describe('the loss model plugin and its options, { "plugin": NAME, ... }').meta({ defaultText: "none" }),
    duplicate: duplicate.optional(),
  }).describe("a link between two hosts");

  /** A workload: a plugin's options besides where it runs, from a host (or fleet) to a port of others. */
  const destination = z.string().regex(/^[^:]+:\d+$/, 'expected "host:port", e.g. "server:80"');
  const workload = z.looseObject({
    plugin: pluginName("the workload plugin's name, or the path of a plugin module; its options sit beside it"),
    from: z.string().describe("the host (or fleet) the workload runs on"),
    to: z.union([destination, z.array(destination).min(1)])
      .meta({ typeName: '"host:port" or list', expected: '"host:port" (e.g. "server:80"; a fleet\'s name stands for its hosts) or a list of them' })
      .describe("where connections go, taken in turn when several; a fleet's name stands for its hosts"),
    source: z.enum(["first", "round-robin"]).optional()
      .describe("which of the host's addresses a connection leaves from: the first (connect() alone) or each in turn (bind() first)").meta({ default: "first" }),
    portAt: z.enum(["connect", "bind"]).optional()
      .describe("when the ephemeral port is chosen: at connect(), knowing the destination, or at bind(), before it").meta({ default: "connect" }),
    via: z.array(z.string()).optional()
      .describe("the forwarding hosts packets pass, in order").meta({ defaultText: "the path of lowest latency" }),
  }).describe("a workload plugin and its options");

  const scenarioSchema = z.strictObject({
    name: z.string().optional().describe("the title of the summary and the HTML report").meta({ default: "scenario" }),
    description: z.string().optional().describe("a text the HTML report shows under the title"),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional()
      .describe("the seed of every random stream; --seed overrides it").meta({ default: 1 }),
    duration: duration.describe("the simulated time the run covers"),
    sample: duration.optional().describe("how often state counts are recorded; at most duration").meta({ defaultText: "duration / 100" }),
    profile: z.enum(PROFILE_NAMES as [string, ...string[]]).optional().describe("the stack whose defaults every host's knobs take").meta({ default: "linux" }),
    trace: count.max(2 ** 32 - 1).optional() // the engine counts traced connections in a u32
      .describe("connections traced, the first N of each group of linked hosts; --trace overrides it").meta({ default: 0, unit: "connections" }),
    hosts: z.record(z.string().regex(/^[A-Za-z_][\w-]*$/, "host names are letters, digits, '_' and '-'"), host)
      .refine((h) => Object.keys(h).length > 0, "at least one host is needed").describe("the hosts (and fleets) by name"),
    links: z.array(link).describe("the links that join hosts"),
    workloads: z.array(workload).describe("what the hosts do: workload plugins"),
    expect: z.array(z.string().superRefine((v, ctx) => {
      const e = parseExpectation(v);
      if (typeof e === "string") ctx.addIssue({ code: "custom", message: e });
    })).optional().describe('checks on the result, like "failed.EADDRNOTAVAIL==0"; a failed one makes the exit code 3'),
    variant: variant.optional().describe("TCP mechanisms every host leaves out (a host's own `variant` replaces it); the result counts what goes wrong (totals.why)").meta({ default: "none" }),
    vary: z.record(z.string(), z.array(z.union([z.number(), z.string(), z.boolean()])).min(1))
      .describe('the sweep `connsim sweep` runs when given no --vary: { "path": [values] }, e.g. { "variant": ["none", "noTimeWait"] }').meta({ defaultText: "none" }).optional(),
  }).describe("a connsim scenario");
  return { scenarioSchema, nat, duplicate };
}

/**
 * The scenario's JSON Schema (draft 2020-12), made from the same zod schemas that check
 * it: an editor validates a scenario with it, and docs/scenario.md's reference is made
 * from it. Plugins' options are not in it (a workload or loss object allows any keys).
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchemas().scenarioSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

type Schemas = ReturnType<typeof makeSchemas>;
export type Scenario = z.input<Schemas["scenarioSchema"]>;

// ---- the plan the engine is configured from ---------------------------------------------

// `stream` is an item's index in the whole scenario: it numbers the item's random
// stream in the engine, so a shard that holds some of the items draws what one
// instance holding all of them would.
export interface PlannedHost {
  name: string;
  /** The fleet (a host entry with `count`) this host is one of: the entry's name. */
  fleet?: string;
  stream: number;
  ips: number[];
  ports: [number, number];
  portAllocator: { plugin: string; kernel: AllocatorKernel };
  reservedPorts: [number, number][];
  tcp: TcpKnobs;
  listen: PlannedListener[];
  /** A host that forwards, as a NAT: its SNAT range and conntrack settings. */
  nat?: PlannedNat;
  /** The TCP mechanisms it leaves out (docs/why.md); absent: none. */
  variants?: VariantName[];
}
/** Times in us; timeouts in CtTimeout order (assembly/abi.ts): the TCP states', then UDP's and UDP streams'. */
export interface PlannedNat {
  addresses: number[]; ports: [number, number]; max: number; timeouts: number[]; takeover: boolean;
  /** The cloud preset it follows; an RST for unknown flows from inside; per inside host its port block (address index, first port) of portsPerHost ports. */
  preset?: string; resetUnknown: boolean; portSearch: "linux" | "whole range"; portsPerHost?: number; blocks?: { host: string; address: number; first: number }[];
}
/** Times in us; start 0 = bound from the beginning, stop 0 = never stops. */
export interface PlannedListener {
  port: number; protocol: "tcp" | "udp"; backlog: number; start: number; stop: number; reuseAddr: boolean; bindRetry: number;
  /** Microseconds between the application's accept()s (1e6 / acceptRate); 0: unlimited. */
  acceptInterval: number;
}
/**
 * A link's loss plugin: its name, the module it came from if any, its checked options,
 * and its kernel, or none when its hook decides (plugin-host.ts).
 */
export interface PlannedLoss { plugin: string; module?: string; options: Record<string, unknown>; kernel?: LossKernel }
/** A link's old duplicates: rate, the delay's shape and parameters (us: fixed a; uniform a-b; exponential mean a, at most b), flags matched. */
export interface PlannedDuplicate { rate: number; shape: "fixed" | "uniform" | "exponential"; a: number; b: number; flags?: string }
export interface PlannedLink { a: string; b: string; stream: number; latencyAB: number; latencyBA: number; loss?: PlannedLoss; duplicate?: PlannedDuplicate }
export interface PlannedWorkload {
  /** The plugin that made it, and the engine model its kernel chose. */
  plugin: string;
  model: WorkloadKernel["model"];
  /** Arrivals from the plugin's hook (plugin-host.ts), found again by name or module in a worker. */
  hook?: { module?: string; options: Record<string, unknown> };
  stream: number;
  from: string; to: string; dstPort: number;
  /** Several destinations, taken in turn (the first is to:dstPort, over path); absent with one. */
  destinations?: { to: string; dstPort: number; path: string[] }[];
  /** The host's first address, or each of its addresses in turn; the port chosen at connect() or at bind(). */
  source: "first" | "round-robin"; portAt: "connect" | "bind";
  /** The hosts a packet passes, from `from` to `to` (just the two without a forwarding host between). */
  path: string[];
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
  /** us: the server application's close() after it reads EOF. */
  serverCloseDelay: number;
  start: number; stop: number; count: number; localPort: number;
  /** us a client holds its connection after the response (open loop), 0: closes at once. */
  hold: number;
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
  /** A shard's: the whole scenario's loss-hook epoch (plugin-host.ts), us. */
  hookEpoch?: number;
  /** A "why" study (a `variant` given anywhere, or a link's `duplicate`): the engine keeps its books, the result has totals.why. */
  why?: boolean;
}

const DURATION_KNOBS = new Set<keyof TcpKnobs>(["timeWait", "rtoInit", "rtoMin", "rtoMax", "finTimeout", "twReuseDelay"]);
const MAX_DURATION_US = 2 ** 42 - 1; // the timing wheel's horizon, about 50 days
const MAX_RESULT_NUMBERS = 200e6;
const MAX_EXPANDED = 1_000_000;
const FLEET_STREAMS = 2 ** 31;

export interface PlanOptions {
  seed?: number;
  trace?: number;
  /**
   * Plugin objects the scenario names, as runScenario takes them. A scenario that names
   * modules by path needs them loaded first: `plugins: await loadPlugins(scenario, mine, dir)`.
   */
  plugins?: Plugin[];
}

/** The scenario as zod checks it, or the ScenarioError naming its first problem. */
function checkedByZod(input: unknown): Scenario {
  const parsed = scenarioSchemas().scenarioSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error, input);
  return parsed.data;
}

/** The TCP knobs quickScenario takes: those that are durations (the rest go to zod). */
const QUICK_TCP = ["timeWait", "rtoInit", "rtoMin", "rtoMax", "finTimeout", "twReuseDelay"];

/**
 * The scenario as it is when every field is one of the common ones and plainly good, or
 * undefined to leave it to zod. A quick check of the shape zod checks, without zod's
 * schemas (making them is most of a small run's validation): it takes a subset of what
 * zod takes, each field by the same rule (test/scenario-validation.test.ts holds them
 * together), and anything else (a field it does not know, a value it doubts) goes to
 * zod, whose messages name the problem. zod's copy of a scenario it takes equals it, so
 * the plan does not depend on which one checked it.
 * @internal exported for the test that holds it to zod
 */
export function quickScenario(sc: object): Scenario | undefined {
  // An object as JSON makes them: no prototype but Object's, no symbol or hidden keys.
  const plain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype
    && Reflect.ownKeys(v).length === Object.keys(v).length;
  const has = (o: Record<string, unknown>, keys: readonly string[]) => Object.keys(o).every((k) => keys.includes(k));
  const list = (v: unknown, each: (x: unknown) => boolean, least = 0) => {
    if (!Array.isArray(v) || v.length < least) return false;
    for (let i = 0; i < v.length; i++) if (!each(v[i])) return false; // holes too: zod sees undefined
    return true;
  };
  const opt = (v: unknown, check: (x: unknown) => boolean) => v === undefined || check(v);
  const str = (v: unknown) => typeof v === "string";
  const int = (lo: number, hi: number) => (v: unknown) => Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi;
  const dur = (v: unknown) => (typeof v === "string" || typeof v === "number") && typeof parseDuration(v) === "number";
  const ip = (v: unknown) => typeof v === "string" && typeof parseIPv4(v) === "number";
  const range = (v: unknown) => typeof v === "string" && typeof parsePortRange(v) !== "string";
  const oneOf = (...values: string[]) => (v: unknown) => values.includes(v as string);
  const dest = (v: unknown) => typeof v === "string" && /^[^:]+:\d+$/.test(v);
  const o = sc as Record<string, unknown>;
  if (!plain(o) || !has(o, ["name", "description", "seed", "duration", "sample", "profile", "trace", "hosts", "links", "workloads"])) return undefined;
  const ok = opt(o.name, str) && opt(o.description, str) && opt(o.seed, int(0, Number.MAX_SAFE_INTEGER)) && dur(o.duration)
    && opt(o.sample, dur) && opt(o.profile, oneOf(...PROFILE_NAMES)) && opt(o.trace, int(0, 2 ** 32 - 1))
    && plain(o.hosts) && Object.keys(o.hosts).length > 0 && Object.entries(o.hosts).every(([name, h]) => /^[A-Za-z_][\w-]*$/.test(name) && plain(h)
      && has(h, ["ip", "count", "ports", "portAllocator", "tcp", "listen"]) && (ip(h.ip) || list(h.ip, ip, 1)) && opt(h.count, int(1, MAX_FLEET))
      && opt(h.ports, range) && opt(h.portAllocator, str)
      && opt(h.tcp, (t) => plain(t) && has(t, QUICK_TCP) && QUICK_TCP.every((k) => opt(t[k], dur)))
      && opt(h.listen, (l) => list(l, (x) => plain(x) && has(x, ["port", "protocol", "backlog", "acceptRate", "start", "stop", "reuseAddr", "bindRetry"])
        && int(1, 65535)(x.port) && opt(x.protocol, oneOf("tcp", "udp")) && opt(x.backlog, int(1, 2 ** 31 - 1))
        && opt(x.acceptRate, (r) => typeof r === "number" && r >= 0.001 && r <= 1e6) && opt(x.start, dur) && opt(x.stop, dur)
        && opt(x.reuseAddr, (b) => typeof b === "boolean") && opt(x.bindRetry, dur))))
    && list(o.links, (l) => plain(l) && has(l, ["between", "latency", "loss"]) && list(l.between, str) && (l.between as unknown[]).length === 2
      && (dur(l.latency) || (list(l.latency, dur) && (l.latency as unknown[]).length === 2)) && opt(l.loss, plain))
    && list(o.workloads, (w) => plain(w) && str(w.from) && (dest(w.to) || list(w.to, dest, 1))
      && opt(w.source, oneOf("first", "round-robin")) && opt(w.portAt, oneOf("connect", "bind")) && opt(w.via, (v) => list(v, str)));
  return ok ? sc as Scenario : undefined;
}

/** Checks a scenario and returns the plan, or throws one ScenarioError naming the field. */
export function planScenario(input: unknown, overrides: PlanOptions = {}): Plan {
  checkPlanOptions(overrides);
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    throw new ScenarioError("scenario", `expected an object with ${Object.keys(scenarioSchemas().scenarioSchema.shape).join(", ")}, got ${typeName(input)}`);
  }
  refuseProtoKeys(input, "scenario");
  // By the name the scenario writes: a plugin's name, or a module's path (loadPlugins).
  const given = new Map((overrides.plugins ?? []).map((p) => [(p as Partial<ModulePlugin>).ref ?? p.name, p]));
  const sc = quickScenario(input) ?? checkedByZod(input);
  const us = (v: string | number) => parseDuration(v) as number;

  const profile = sc.profile ?? "linux";
  const base = PROFILES[profile];
  const duration = us(sc.duration);
  if (duration <= 0) throw new ScenarioError("scenario.duration", "must be more than zero");
  if (duration > MAX_DURATION_US) throw new ScenarioError("scenario.duration", "must be under 50 days (2^42 us)");
  const sample = sc.sample === undefined ? Math.max(1, Math.round(duration / 100)) : us(sc.sample);
  if (sample <= 0) throw new ScenarioError("scenario.sample", "must be more than zero");
  if (sample > duration) throw new ScenarioError("scenario.sample", `must be at most scenario.duration (${duration / 1e6}s), got ${sample / 1e6}s`);
  if (duration / sample > 1e6) throw new ScenarioError("scenario.sample", `gives ${Math.ceil(duration / sample)} samples; at most 1000000 are kept, use a longer sample`);
  // The samples hold about 12 numbers per host and sample (one at 0, one per interval,
  // the last at the end; a fleet's hosts one by one, as the engine samples them, though
  // the result sums them); past ~200 million they would not fit in a JS heap.
  const totalHosts = Object.values(sc.hosts).reduce((n, h) => n + (h.count ?? 1), 0);
  if (totalHosts > MAX_FLEET) {
    throw new ScenarioError("scenario.hosts", `the entries stand for ${totalHosts} hosts (a fleet counts its count); the engine takes at most ${MAX_FLEET} in one run`);
  }
  const numbers = (Math.ceil(duration / sample) + 1) * (totalHosts * 12 + 6);
  if (numbers > MAX_RESULT_NUMBERS) {
    throw new ScenarioError("scenario.sample", `${Math.ceil(duration / sample) + 1} samples of ${totalHosts} hosts make a result of ${(numbers / 1e6).toFixed(0)} million numbers (at most ${MAX_RESULT_NUMBERS / 1e6} million); use a longer sample`);
  }

  const hosts: PlannedHost[] = [];
  const ipOwner = new Map<number, string>();
  // A name a link or workload may give: a host, a fleet (all its hosts) or one of a fleet's hosts.
  const members = new Map<string, string[]>();
  for (const [name, h] of Object.entries(sc.hosts)) {
    const field = `scenario.hosts.${name}`;
    const baseIps = (Array.isArray(h.ip) ? h.ip : [h.ip]).map((a) => parseIPv4(a) as number);
    const fleet = h.count !== undefined;
    const n = h.count ?? 1;
    for (const ip of baseIps) {
      if (ip + n - 1 > 0xFFFFFFFF) throw new ScenarioError(`${field}.count`, `${n} hosts counting up from ${formatIPv4(ip)} pass 255.255.255.255`);
    }
    const tcp: TcpKnobs = { ...base.tcp };
    for (const [k, v] of Object.entries(h.tcp ?? {}) as [keyof TcpKnobs, string | number][]) {
      tcp[k] = DURATION_KNOBS.has(k) ? us(v) : (v as number);
    }
    if (tcp.rtoMin > tcp.rtoMax) throw new ScenarioError(`${field}.tcp.rtoMin`, "is above rtoMax");
    const variants = variantList(h.variant ?? sc.variant);
    // Two variants are knobs: no SYN or SYN-ACK retransmission; no TIME_WAIT (as past tcp_max_tw_buckets, uncounted).
    if (variants.includes("noSynRetransmit")) Object.assign(tcp, { synRetries: 0, synackRetries: 0, synLinearTimeouts: 0 });
    if (variants.includes("noTimeWait")) tcp.maxTwBuckets = 0;
    // The engine's timers hold 2^32 us. A number is seconds: 60000 meant as milliseconds is 16.7 hours.
    for (const k of DURATION_KNOBS) {
      const most = k === "rtoInit" ? 65e6 : 4294e6;
      if (tcp[k] <= most) continue;
      const given = h.tcp?.[k];
      const hint = typeof given === "number" ? `; a number is seconds: for ${given} milliseconds write "${given}ms"` : "";
      throw new ScenarioError(`${field}.tcp.${k}`, `${JSON.stringify(given ?? tcp[k] / 1e6)} is ${(tcp[k] / 1e6).toLocaleString("en-US")} s; a TCP timer must be at most ${most / 1e6} s${hint}`);
    }
    const listen: PlannedListener[] = (h.listen ?? []).map((l, i) => {
      const at = `${field}.listen.${i}`;
      const start = l.start === undefined ? 0 : us(l.start);
      const stop = l.stop === undefined ? 0 : us(l.stop);
      const bindRetry = l.bindRetry === undefined ? 1e6 : us(l.bindRetry);
      if (l.stop !== undefined && stop <= 0) throw new ScenarioError(`${at}.stop`, "must be more than zero (the server stops during the run)");
      if (bindRetry < 1000) throw new ScenarioError(`${at}.bindRetry`, "must be at least 1ms");
      if (l.acceptRate !== undefined && l.protocol === "udp") throw new ScenarioError(`${at}.acceptRate`, "applies to a tcp listener only (udp has no accept())");
      const acceptInterval = l.acceptRate === undefined ? 0 : Math.max(1, Math.round(1e6 / l.acceptRate));
      return { port: l.port, protocol: l.protocol ?? "tcp", backlog: l.backlog ?? 4096, start, stop, reuseAddr: l.reuseAddr ?? false, bindRetry, acceptInterval };
    });
    const seen = new Set<string>();
    listen.forEach((l, i) => {
      if (seen.has(`${l.protocol}/${l.port}`)) throw new ScenarioError(`${field}.listen.${i}.port`, `${l.protocol} port ${l.port} is listed twice`);
      seen.add(`${l.protocol}/${l.port}`);
    });
    // Unnamed, the profile's own allocator (Linux's under `linux`, as the OS does).
    const allocator = resolvePlugin<AllocatorKernel>(h.portAllocator ?? base.portAllocator, "portAllocator", `${field}.portAllocator`, given, ["plugin"]) as { plugin: string; kernel: AllocatorKernel };
    const ports = h.ports ? (parsePortRange(h.ports) as [number, number]) : allocator.kernel.ports ?? base.ports;
    const reservedPorts = h.reservedPorts ? h.reservedPorts.split(",").map((r) => parsePortRange(r) as [number, number]) : [];
    if (h.nat && h.kind !== "nat") throw new ScenarioError(`${field}.nat`, 'applies to a NAT host only: add "kind": "nat"');
    if (h.kind === "nat" && fleet) throw new ScenarioError(`${field}.count`, "a NAT host stands for one gateway: give each NAT its own entry");
    const natPlan = h.kind === "nat" ? planNat(h.nat ?? {}, baseIps, `${field}.nat`, us) : undefined;
    if (natPlan && listen.length) throw new ScenarioError(`${field}.listen`, "a NAT host forwards; it has no listeners (give them to a host behind or beyond it)");
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const member = fleet ? `${name}-${i}` : name;
      if (members.has(member)) {
        throw fleet ? new ScenarioError(`${field}.count`, `makes host "${member}", which is also the name of another host or fleet`)
          : new ScenarioError(field, `the name "${member}" is taken by a host of a fleet listed before it`);
      }
      const ips = baseIps.map((ip) => ip + i);
      for (const ip of ips) {
        const other = ipOwner.get(ip);
        if (other === member) throw new ScenarioError(`${field}.ip`, `address ${formatIPv4(ip)} is listed twice`);
        if (other !== undefined) throw new ScenarioError(`${field}.ip`, `address ${formatIPv4(ip)}${fleet ? ` (of "${member}")` : ""} is already used by host "${other}"${fleet ? "; a fleet's i-th host has each listed address plus i" : ""}`);
        ipOwner.set(ip, member);
      }
      hosts.push({
        ...(natPlan ? { nat: natPlan } : {}),
        name: member, ...(fleet ? { fleet: name } : {}), stream: hosts.length, ips, ports,
        portAllocator: { plugin: allocator.plugin, kernel: allocator.kernel }, tcp: { ...tcp }, reservedPorts,
        listen: listen.map((l) => ({ ...l })), // (a restart sets one host's listener)
        ...(variants.length ? { variants: [...variants] } : {}),
      });
      members.set(member, [member]);
      names.push(member);
    }
    if (fleet && members.has(name)) throw new ScenarioError(`${field}.count`, `the fleet's name "${name}" is also the name of one of another fleet's hosts`);
    members.set(name, names);
  }
  for (const h of hosts) {
    h.nat?.addresses.forEach((a, j) => {
      const other = ipOwner.get(a);
      if (other !== undefined && other !== h.name) throw new ScenarioError(`scenario.hosts.${h.name}.nat.addresses${h.nat!.addresses.length > 1 ? `.${j}` : ""}`, `address ${formatIPv4(a)} is already used by host "${other}"`);
      ipOwner.set(a, h.name);
    });
  }
  const byName = new Map(hosts.map((h) => [h.name, h]));
  /** The hosts a name in a link or workload stands for. */
  const hostField = (field: string, name: string): string[] => {
    const found = members.get(name);
    if (!found) {
      const known = Object.keys(sc.hosts);
      const hint = closest(name, known);
      throw new ScenarioError(field, `unknown host ${JSON.stringify(name)}${hint ? `; did you mean "${hint}"?` : "."} Hosts: ${known.join(", ")}`);
    }
    return found;
  };

  const links: PlannedLink[] = [];
  const linked = new Set<string>();
  sc.links.forEach((l, i) => {
    const field = `scenario.links.${i}`;
    // A fleet's name joins each of its hosts (to each host the other end stands for).
    const as = hostField(`${field}.between.0`, l.between[0]);
    const bs = hostField(`${field}.between.1`, l.between[1]);
    if (l.between[0] === l.between[1]) throw new ScenarioError(`${field}.between`, "a link joins two different hosts");
    if (links.length + as.length * bs.length > MAX_EXPANDED) {
      throw new ScenarioError(`${field}.between`, `joins ${as.length} x ${bs.length} hosts: ${links.length + as.length * bs.length} links in all, far past the ${32768} one engine takes`);
    }
    const pairs = as.flatMap((a) => bs.map((b) => [a, b] as const));
    for (const [a, b] of pairs) {
      if (a === b) throw new ScenarioError(`${field}.between`, `would link host "${a}" to itself`);
      const key = [a, b].sort().join("\u0000");
      if (linked.has(key)) throw new ScenarioError(`${field}.between`, `hosts "${a}" and "${b}" are already linked`);
      linked.add(key);
    }
    const [ab, ba] = Array.isArray(l.latency) ? l.latency.map(us) : [us(l.latency), us(l.latency)];
    if (ab < 1 || ba < 1) throw new ScenarioError(`${field}.latency`, "must be at least 1us");
    let loss: PlannedLoss | undefined;
    if (l.loss) {
      const { hook: _hook, ...used } = resolvePlugin<LossKernel>(l.loss, "loss", `${field}.loss`, given, ["plugin"]);
      loss = used;
      // A rule's `from` is an end of this link (the plugin cannot know the link).
      if (loss.kernel?.model === "rules") {
        loss.kernel.rules.forEach((r, j) => {
          if (r.from !== undefined && r.from !== l.between[0] && r.from !== l.between[1]) {
            throw new ScenarioError(`${field}.loss.rules.${j}.from`, `must be one end of the link: "${l.between[0]}" or "${l.between[1]}"`);
          }
        });
      }
    }
    const dup = l.duplicate ? planDuplicate(l.duplicate, `${field}.duplicate`, us) : undefined;
    for (const [a, b] of pairs) {
      // A rule from a fleet's end is from each of its hosts.
      const own = loss?.kernel?.model === "rules" && loss.kernel.rules.some((r) => r.from !== undefined && r.from !== a && r.from !== b)
        ? { ...loss, kernel: { ...loss.kernel, rules: loss.kernel.rules.map((r) => (r.from === undefined ? r : { ...r, from: r.from === l.between[0] ? a : b })) } }
        : loss;
      links.push({ a, b, stream: links.length, latencyAB: ab, latencyBA: ba, loss: own, ...(dup ? { duplicate: { ...dup } } : {}) });
    }
  });

  const graph = routeGraph(links);
  const restarted = new Map<PlannedListener, number>();
  const workloads: PlannedWorkload[] = [];
  sc.workloads.forEach((w, i) => {
    const field = `scenario.workloads.${i}`;
    const used = resolvePlugin<WorkloadKernel>(w, "workload", field, given, WORKLOAD_KEYS);
    const { plugin, hook: hooked } = used;
    // A hooked workload's kernel says what each connection does; the hook says when.
    const k: WorkloadKernel = used.kernel ?? { model: "open-loop", rate: 0 };
    if (hooked && (k.model !== "open-loop" || Array.isArray(k.rate))) {
      throw new PluginError(plugin, "has a hook for its arrivals, so its kernel must be open-loop without rate steps");
    }
    // A fleet's workload runs on each of its hosts, as if written once per host; a fleet
    // as destination stands for its hosts, taken in turn with the other destinations.
    const froms = hostField(`${field}.from`, w.from);
    const toList = Array.isArray(w.to) ? w.to : [w.to];
    const dests = toList.flatMap((d, j) => {
      const at = Array.isArray(w.to) ? `${field}.to.${j}` : `${field}.to`;
      const [toName, toPort] = d.split(":");
      const dstPort = Number(toPort);
      const names = hostField(at, toName);
      if (froms.length * names.length > MAX_EXPANDED) throw new ScenarioError(at, `joins ${froms.length} x ${names.length} hosts, far past the 65536 workloads and destinations one engine takes`);
      if (!(dstPort >= 1 && dstPort <= 65535)) throw new ScenarioError(at, `port ${toPort} is outside 1-65535`);
      for (const to of names) if (byName.get(to)!.nat) throw new ScenarioError(at, `"${to}" is a NAT host: it forwards, nothing listens on it`);
      return names.map((to) => ({ to, dstPort, at }));
    });
    if (dests.length > 65536) throw new ScenarioError(`${field}.to`, `names ${dests.length} destinations; a workload takes at most 65536`);
    const seen = new Set<string>();
    for (const d of dests) {
      if (seen.has(`${d.to}:${d.dstPort}`)) throw new ScenarioError(`${field}.to`, `names "${d.to}:${d.dstPort}" twice`);
      seen.add(`${d.to}:${d.dstPort}`);
    }
    if (byName.get(froms[0])!.nat) throw new ScenarioError(`${field}.from`, `"${froms[0]}" is a NAT host: it forwards, it runs no workload`);
    // Each host's path to each destination: through forwarding hosts, by the link graph or `via`.
    const via = w.via as string[] | undefined;
    const pathsFrom = (from: string) => dests.map((d) => ({
      to: d.to, dstPort: d.dstPort,
      path: findPath(from, d.to, via, field, graph, (n) => byName.get(n)?.nat !== undefined, (f, n) => { hostField(f, n); return n; }, (f, why) => new ScenarioError(f === `${field}.to` ? d.at : f, why)),
    }));
    const from = froms[0];
    const firstPaths = pathsFrom(from);
    const { to, dstPort, path } = firstPaths[0];
    const source = (w.source ?? "first") as PlannedWorkload["source"];
    const portAt = (w.portAt ?? "connect") as PlannedWorkload["portAt"];
    if (k.model === "udp" && portAt === "bind") throw new ScenarioError(`${field}.portAt`, `"bind" applies to TCP workloads; a UDP query's port is its own socket's. Allowed: "connect"`);
    if (k.restart) {
      // The server behind `to` stops and starts again: its listener's life, set here.
      const protocol = k.model === "udp" ? "udp" : "tcp";
      if (dests.length > 1) throw new ScenarioError(`${field}.to`, `a restart stops one server; this workload has ${dests.length} destinations`);
      const l = byName.get(to)!.listen.find((x) => x.port === dstPort && x.protocol === protocol);
      if (!l) throw new ScenarioError(`${field}.to`, `nothing listens on ${protocol} port ${dstPort} of "${to}", so there is no server to restart; add it to hosts.${to}.listen`);
      if (restarted.has(l)) throw new ScenarioError(`${field}.to`, `the server on "${w.to}" is already restarted by scenario.workloads.${restarted.get(l)}`);
      if (l.start || l.stop) throw new ScenarioError(`${field}.to`, `the listener on "${w.to}" already has its own start/stop; give the restart in one place`);
      if (k.restart.at <= 0 || k.restart.down <= 0) throw new ScenarioError(field, `a restart needs a time after the start and a downtime above zero (plugin "${plugin}")`);
      restarted.set(l, i);
      l.stop = k.restart.at;
      l.start = k.restart.at + k.restart.down;
      l.reuseAddr = k.restart.reuseAddr ?? l.reuseAddr;
    }
    const made = ((): PlannedWorkload[] => {
      const common: PlannedWorkload = {
        plugin, model: k.model, stream: i, from, to, dstPort, path, ...(dests.length > 1 ? { destinations: firstPaths } : {}), source, portAt, step: 0,
        rate: 0, arrival: "constant", clients: 0, think: 0, requests: 1, backoff: 0, backoffMax: 0, udpTimeout: 0,
        request: k.request ?? 100, response: k.response ?? 1000,
        closer: k.model !== "udp" ? k.closer ?? "client" : "client",
        halfClose: k.model !== "udp" && (k.halfClose ?? false), linger0: k.model !== "udp" && (k.linger0 ?? false),
        serverCloseDelay: k.model !== "udp" ? k.serverCloseDelay ?? 0 : 0,
        start: k.start ?? 0, stop: k.stop ?? 0, count: k.count ?? 0, localPort: 0, hold: 0,
      };
      if (k.model === "closed-loop") {
        return [{
          ...common, clients: k.clients, think: k.think ?? 0, requests: k.requests ?? 1,
          backoff: k.backoff ?? 0, backoffMax: k.backoffMax ?? 30e6,
        }];
      }
      if (k.model === "udp") return [{ ...common, rate: k.rate, arrival: k.arrival ?? "poisson", udpTimeout: k.timeout ?? 5e6 }];
      const planned: PlannedWorkload = {
        ...common, rate: hooked || Array.isArray(k.rate) ? 0 : k.rate, arrival: k.arrival ?? "poisson", localPort: k.localPort ?? 0, hold: k.hold ?? 0,
        ...(hooked ? { hook: { ...(used.module ? { module: used.module } : {}), options: used.options } } : {}),
      };
      if (!Array.isArray(k.rate)) return [planned];
      // A rate in steps: one open-loop stream per step, from its `at` to the next one's.
      // Each step draws its own random stream, numbered past every workload's index.
      if (k.count !== undefined || k.start !== undefined) throw new ScenarioError(`${field}.rate`, "steps set their own start; leave out count and start");
      const steps = k.rate;
      steps.forEach((s, j) => {
        if (j > 0 && s.at <= steps[j - 1].at) throw new ScenarioError(`${field}.rate.${j}.at`, `must be after the step before (${steps[j - 1].at / 1e6}s)`);
      });
      return steps.map((s, j) => ({
        ...planned, stream: j === 0 ? i : sc.workloads.length + 64 * i + j, step: j, rate: s.rate, start: s.at,
        stop: j + 1 < steps.length ? Math.min(steps[j + 1].at, planned.stop || Infinity) : planned.stop,
      }));
    })();
    if (workloads.length + froms.length * made.length > MAX_EXPANDED) {
      throw new ScenarioError(`${field}.from`, `runs on ${froms.length} hosts: ${workloads.length + froms.length * made.length} workloads in all, far past the 65536 one engine takes`);
    }
    // The first host's workload draws the stream an entry without count would; the others
    // draw streams numbered past 2^31 by their place in the plan (scenario-wide, not per shard).
    froms.forEach((member, m) => {
      const paths = m === 0 ? firstPaths : pathsFrom(member);
      const own = { from: member, path: paths[0].path, ...(paths.length > 1 ? { destinations: paths } : {}) };
      for (const p of made) workloads.push(m === 0 ? p : { ...p, ...own, stream: FLEET_STREAMS + workloads.length });
    });
  });

  // A forwarding host routes by destination address: two workloads may not need different next hops to one address.
  const nextHop = new Map<string, [string, number]>();
  workloads.forEach((w) => {
    for (const { to, path } of workloadPaths(w)) for (let j = 1; j + 1 < path.length; j++) {
      for (const a of byName.get(to)!.ips) {
        const key = `${path[j]}>${a}`;
        const had = nextHop.get(key);
        if (had && had[0] !== path[j + 1]) {
          throw new ScenarioError(`scenario.workloads.${w.stream}.via`, `"${path[j]}" already sends packets for ${formatIPv4(a)} to "${had[0]}" (scenario.workloads.${had[1]}); a host routes by destination address, so give both workloads the same path`);
        }
        nextHop.set(key, [path[j + 1], w.stream]);
      }
    }
  });
  planBlocks(hosts, workloads);
  const seed = overrides.seed ?? sc.seed ?? 1;
  const trace = overrides.trace ?? sc.trace ?? 0;
  if (trace > MAX_TRACE) throw new ScenarioError(overrides.trace !== undefined ? "options.trace" : "scenario.trace", tooManyTraced(trace));
  const why = sc.variant !== undefined || Object.values(sc.hosts).some((h) => h.variant !== undefined) || links.some((l) => l.duplicate);
  return {
    name: sc.name ?? "scenario", seed, profile, duration, sample,
    trace, hosts, links, workloads, ...(why ? { why } : {}),
  };
}

/** A `variant` as a list of names ("none" and absent: none), each once. */
function variantList(v: string | VariantName[] | undefined): VariantName[] {
  if (v === undefined || v === "none") return [];
  return [...new Set(Array.isArray(v) ? v : v.split("+") as VariantName[])];
}

/** A link's `duplicate`, with its delay in us; a range must be ordered. */
function planDuplicate(d: z.infer<Schemas["duplicate"]>, field: string, us: (v: string | number) => number): PlannedDuplicate {
  const flags = d.flags === undefined ? {} : { flags: d.flags };
  if (typeof d.delay !== "object") return { rate: d.rate, shape: "fixed", a: us(d.delay), b: us(d.delay), ...flags };
  if (d.delay.dist === "uniform") {
    const [a, b] = [us(d.delay.min), us(d.delay.max)];
    if (a > b) throw new ScenarioError(`${field}.delay.min`, `is above max (${b / 1e6}s)`);
    return { rate: d.rate, shape: "uniform", a, b, ...flags };
  }
  const [a, b] = [us(d.delay.mean), us(d.delay.max)];
  if (a <= 0) throw new ScenarioError(`${field}.delay.mean`, "must be more than zero");
  return { rate: d.rate, shape: "exponential", a, b, ...flags };
}

function planNat(n: z.infer<Schemas["nat"]>, ips: number[], field: string, us: (v: string | number) => number): PlannedNat {
  const addresses = n.addresses === undefined ? ips : (Array.isArray(n.addresses) ? n.addresses : [n.addresses]).map((a) => parseIPv4(a) as number);
  if (new Set(addresses).size !== addresses.length) throw new ScenarioError(`${field}.addresses`, "lists an address twice");
  const preset = n.preset === undefined ? undefined : NAT_PRESETS[n.preset];
  const ports = n.ports ? (parsePortRange(n.ports) as [number, number]) : preset?.ports ?? [1024, 65535] as [number, number];
  const t: Partial<Record<NatTimeoutName, string | number>> = { ...preset?.timeouts, ...n.timeouts };
  const timeouts = (Object.keys(CONNTRACK_DEFAULTS) as (keyof typeof CONNTRACK_DEFAULTS)[]).map((k) => {
    const v = t[k] === undefined ? CONNTRACK_DEFAULTS[k] * 1e6 : us(t[k]!);
    if (v < 1e6 || v > 4294967e6) throw new ScenarioError(`${field}.timeouts.${k}`, "must be from 1s to 4294967s (conntrack counts whole seconds of jiffies)");
    return v;
  });
  // SYN_SENT2 (simultaneous open) shares SYN_SENT's timeout in Linux's table.
  timeouts.splice(8, 0, timeouts[0]);
  return {
    addresses, ports, max: n.max ?? CONNTRACK_MAX, timeouts: [0, ...timeouts], takeover: n.takeover ?? preset?.takeover ?? true,
    resetUnknown: n.resetUnknown ?? preset?.resetUnknown ?? false, portSearch: n.portSearch ?? preset?.portSearch ?? "linux", ...(n.preset ? { preset: n.preset } : {}), ...(n.portsPerHost ? { portsPerHost: n.portsPerHost } : {}),
  };
}

/**
 * Each NAT's inside hosts (the hop before it on the workloads' paths, in host order) get
 * their port blocks: block b is on address b / (blocks per address), its ports from
 * lo + (b mod that) x size. A preset's size may follow the pool (Azure's table).
 */
function planBlocks(hosts: PlannedHost[], workloads: PlannedWorkload[]): void {
  for (const h of hosts) {
    const n = h.nat;
    if (!n) continue;
    const inside = new Set<string>();
    for (const w of workloads) for (const { path } of workloadPaths(w)) path.forEach((x, i) => { if (x === h.name && i > 0) inside.add(path[i - 1]); });
    const field = `scenario.hosts.${h.name}.nat`;
    const preset = n.preset ? NAT_PRESETS[n.preset] : undefined;
    const size = n.portsPerHost ?? preset?.portsPerHost?.(inside.size, n.addresses.length);
    if (size === undefined || inside.size === 0) continue;
    const at = n.portsPerHost ? `${field}.portsPerHost` : `${field}.preset`;
    if (size === 0) throw new ScenarioError(at, `${n.preset}'s default port allocation stops at 1,000 inside hosts; this NAT has ${inside.size.toLocaleString("en-US")} (give portsPerHost)`);
    const range = n.ports[1] - n.ports[0] + 1;
    const perAddress = Math.floor(range / size);
    if (perAddress * n.addresses.length < inside.size) {
      throw new ScenarioError(at, `gives each of ${inside.size.toLocaleString("en-US")} inside hosts ${size.toLocaleString("en-US")} ports, but ${n.addresses.length} address${n.addresses.length > 1 ? "es" : ""} of ${range.toLocaleString("en-US")} ports hold ${(perAddress * n.addresses.length).toLocaleString("en-US")} blocks: add addresses or give fewer ports per host`);
    }
    n.portsPerHost = size;
    const order = hosts.filter((x) => inside.has(x.name));
    n.blocks = order.map((x, b) => ({ host: x.name, address: Math.floor(b / perAddress), first: n.ports[0] + (b % perAddress) * size }));
  }
}

/**
 * JSON.parse keeps a "__proto__" key as data, but copying the object (zod does) turns it
 * into a prototype and drops it silently: refuse it wherever it is.
 */
function refuseProtoKeys(node: unknown, at: string, depth = 0): void {
  if (node === null || typeof node !== "object" || depth > 64) return;
  for (const [k, v] of Object.entries(node)) {
    if (k === "__proto__") throw new ScenarioError(`${at}.__proto__`, "is not allowed as a name or a key (JavaScript objects treat it as their prototype)");
    refuseProtoKeys(v, `${at}.${pathPart(Array.isArray(node) ? Number(k) : k)}`, depth + 1);
  }
}

/**
 * Connections a run may trace: each holds about 15 KB of memory until the run ends
 * and writes 3 KB of JSON, so a million would exhaust the heap long after the run began.
 */
export const MAX_TRACE = 100_000;

export function tooManyTraced(n: number): string {
  return `at most ${MAX_TRACE.toLocaleString("en-US")} connections can be traced (each holds about 15 KB of memory until the run ends), got ${n.toLocaleString("en-US")}`;
}

/**
 * The plugin a scenario object names (`{ "plugin": name, ...options }`, or just the name),
 * its options checked by its schema, and its kernel, checked against the engine's
 * vocabulary. `own` are the keys the scenario keeps for itself, not the plugin's options.
 */
function resolvePlugin<K>(use: unknown, kind: PluginKind, field: string, given: Map<string, Plugin>, own: string[]): Resolved<K> {
  const named = typeof use === "string";
  const ref = named ? use : (use as { plugin?: unknown }).plugin;
  const at = named ? field : `${field}.plugin`;
  const known = () => [...new Set([...registeredNames(kind), ...[...given.values()].filter((p) => p.kind === kind).map((p) => p.name)])];
  if (typeof ref !== "string") {
    throw new ScenarioError(at, `${ref === undefined ? "is required" : `expected a plugin's name, got ${typeName(ref)}`}. Allowed: ${known().join(", ")}`);
  }
  const plugin = given.get(ref) ?? registeredPlugin(ref);
  if (!plugin) {
    if (isModuleRef(ref)) throw new ScenarioError(at, `plugin module ${JSON.stringify(ref)} is not loaded (runScenario and the CLI load it; planScenario needs plugins: await loadPlugins(scenario))`);
    const hint = closest(ref, known());
    throw new ScenarioError(at, `unknown plugin ${JSON.stringify(ref)}${hint ? `; did you mean "${hint}"?` : "."} Allowed: ${known().join(", ")}`);
  }
  if (plugin.kind !== kind) {
    throw new ScenarioError(at, `${JSON.stringify(ref)} is a ${plugin.kind} plugin, not a ${kind} plugin. Allowed: ${known().join(", ")}`);
  }
  // Registered plugins were checked when registered; objects passed in or loaded from a module may not have been made with definePlugin.
  if (plugin !== registeredPlugin(ref)) definePlugin(plugin as LossPlugin);
  const given_ = named ? {} : Object.fromEntries(Object.entries(use as object).filter(([key]) => !own.includes(key)));
  let options = given_;
  if (plugin.options) {
    const r = plugin.options.safeParse(given_);
    if (!r.success) throw fromZod(r.error, given_, { root: plugin.options, at: field, own, plugin });
    options = r.data as Record<string, unknown>;
  }
  let kernel: K | undefined;
  if (plugin.kernel) {
    let value: unknown;
    try {
      value = (plugin.kernel as (o: unknown) => unknown)(options);
    } catch (e) {
      throw e instanceof PluginError ? e : new PluginError(plugin.name, `threw: ${(e as Error)?.message ?? String(e)}`);
    }
    kernel = checkKernel(plugin, value) as K;
  }
  const module = (plugin as { module?: string }).module;
  const hook = "hook" in plugin && typeof plugin.hook === "function";
  return { plugin: plugin.name, ...(module ? { module } : {}), options, kernel, hook };
}

/** A plugin as a scenario uses it: its name, module, checked options, kernel if it has one, and whether it has a hook. */
interface Resolved<K> { plugin: string; module?: string; options: Record<string, unknown>; kernel?: K; hook: boolean }

/**
 * A rough count of the events a plan simulates: each connection a workload opens costs
 * about 10 (8 to 10 segments, its arrival, its TIME_WAIT timer; more under loss). For a
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
function fromZod(err: z.ZodError, input: unknown, where?: PluginWhere): ScenarioError {
  const error = fromZodIssue(err, input, where?.root ?? scenarioSchemas().scenarioSchema, where?.at ?? "scenario", where?.own ?? []);
  if (!where) return error;
  // A plugin's options: say whose schema it was.
  return new ScenarioError(error.field, `${error.detail} (plugin "${where.plugin.name}" ${where.plugin.version})`);
}

/** Where a plugin's options sit: its schema, the scenario field of its object, the keys the scenario keeps. */
interface PluginWhere { root: z.ZodType; at: string; own: string[]; plugin: Plugin }

function fromZodIssue(err: z.ZodError, input: unknown, root: z.ZodType, at: string, own: string[]): ScenarioError {
  const issue = err.issues.find((i) => i.code === "unrecognized_keys") ?? err.issues[0];
  const field = (p: PropertyKey[]) => [at, ...p.map(pathPart)].join(".");
  const got = valueAt(input, issue.path);
  const schema = schemaAt(root, issue.path);
  // A scenario field's description is its meaning, for the reference; a plugin's options
  // have said what they take in theirs, so it stands in for `expected` there.
  const wanted = schema && (expectedText(schema) ?? (root === scenarioSchemas().scenarioSchema ? undefined : schema.description));
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0];
      const keys = schema instanceof z.ZodObject ? Object.keys(schema.shape) : undefined;
      const allowed = keys && (issue.path.length === 0 ? [...own, ...keys] : keys);
      const hint = allowed ? closest(key, allowed) : undefined;
      return new ScenarioError(field([...issue.path, key]),
        `unknown field${hint ? `; did you mean "${hint}"?` : allowed ? "." : ""}${allowed ? ` Allowed: ${allowed.join(", ")}` : ""}`);
    }
    case "invalid_union": {
      if ("note" in issue && issue.note === "No matching discriminator") {
        const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
        const hint = typeof got === "string" ? closest(got, options) : undefined;
        return new ScenarioError(field(issue.path),
          `${got === undefined ? "is required" : `${JSON.stringify(got)} is not allowed`}${hint ? `; did you mean "${hint}"?` : "."} Allowed: ${options.join(", ")}`);
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

/** The schema that checks the value at a path below `root`. */
function schemaAt(root: z.ZodType, path: PropertyKey[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  for (let i = 0; i <= path.length && schema; i++) {
    schema = unwrapSchema(schema);
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

