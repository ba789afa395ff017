// The plugin API (DESIGN "The JS/WASM boundary"). A plugin is a plain object made with
// definePlugin: a kind (loss, portAllocator, workload), a name, a version, an options
// schema (zod, checked before the run; errors name the plugin and the field), and one
// or both tiers:
//   kernel(options)       data in the engine's vocabulary (kernels.ts): the engine runs
//                         it itself, no JS per segment;
//   hook(options, ctx)    TypeScript the engine calls once per epoch with a batch of
//                         decisions, never once per segment (loss plugins).
//
// This module is the plugin API ("connsim/plugin": what a plugin imports; no Node APIs,
// so plugins bundle for browsers too). A scenario names plugins (`"loss": { "plugin": "bernoulli", "p": 0.01 }`) among those
// registered (the built-ins of plugins/ are), those passed in RunOptions.plugins, or a
// module path or URL (`"plugin": "./my-loss.js"`) whose default export is the plugin.

import { z } from "zod";
import { allocatorKernel, lossKernel, workloadKernel, type AllocatorKernel, type LossKernel, type WorkloadKernel } from "./kernels.js";
import { typeName } from "./units.js";

export { z };
export { fields } from "./fields.js";
export type { AllocatorKernel, LossKernel, LossRule, WorkloadKernel, SizeSpec } from "./kernels.js";

/** The segments of one epoch on one link direction, as columns (index i is one segment). */
export interface LossBatch {
  /** Link direction, by host names. */
  from: string;
  to: string;
  size: number;
  /** Send time, seconds. */
  t: Float64Array;
  /** TCP flag bits (FIN 1, SYN 2, RST 4, PSH 8, ACK 16) and tcpdump text. */
  flags: Uint8Array;
  flagText: string[];
  seq: Uint32Array;
  ack: Uint32Array;
  len: Uint32Array;
  /** Connection number: in connect() order among the connections of its group of linked hosts. */
  conn: Uint32Array;
  /** The sender's TCP state, as netstat names it. */
  state: string[];
}

export interface LossHook {
  /** Set drop[i] = 1 to lose segment i. May be async; it has `hookTimeout` ms per batch. */
  decide(batch: LossBatch, drop: Uint8Array): void | Promise<void>;
}

/** What a hook gets besides its options: its own seeded random stream, and where it sits. */
export interface PluginContext {
  /** Uniform in [0, 1), from a stream seeded by the run's seed, the plugin and where it sits. */
  random(): number;
  seed: number;
  /** A loss hook: the direction's hosts. A workload hook: the client host, and "host:port". */
  from: string;
  to: string;
}

interface PluginBase<O> {
  name: string;
  version: string;
  /** The plugin's options: the scenario's object without "plugin" (and, for workloads, "from" and "to"). */
  options?: z.ZodType<O>;
}

/** Decides which segments a link loses, per direction. */
export interface LossPlugin<O = Record<string, unknown>> extends PluginBase<O> {
  kind: "loss";
  kernel?(options: O): LossKernel;
  hook?(options: O, context: PluginContext): LossHook;
}

/** Picks a host's ephemeral ports (`hosts.X.portAllocator`). */
export interface PortAllocatorPlugin<O = Record<string, unknown>> extends PluginBase<O> {
  kind: "portAllocator";
  kernel(options: O): AllocatorKernel;
}

/** What a workload's connections came to in one window: counts of connect()s and of how they ended. */
export interface WorkloadOutcomes {
  attempted: number;
  established: number;
  completed: number;
  failed: { EADDRNOTAVAIL: number; ECONNREFUSED: number; ETIMEDOUT: number; ECONNRESET: number };
}

/** The window a workload hook is asked about, and what happened in the one before. */
export interface WorkloadWindow {
  /** Seconds: the window is [from, to). */
  from: number;
  to: number;
  /** This workload's outcomes since the last call (the previous window), so a hook can react: back off, surge, retry. */
  outcomes: WorkloadOutcomes;
}

/** A workload's arrivals from TypeScript: called once per window (the scenario's `sample`), ahead of the clock. */
export interface WorkloadHook {
  /**
   * The times, in seconds, of the connections to open in [from, to): any order, each
   * inside the window. May be async; it has `hookTimeout` ms per window.
   */
  arrivals(window: WorkloadWindow): ArrayLike<number> | Promise<ArrayLike<number>>;
}

/**
 * Opens connections from `from` to `to` ("host:port"), the scenario's `workloads`. With
 * a hook, the hook says when each connection opens and the kernel (open-loop, its rate
 * left out) says what each one does; without one, the kernel says everything.
 */
export interface WorkloadPlugin<O = Record<string, unknown>> extends PluginBase<O> {
  kind: "workload";
  kernel?(options: O): WorkloadKernel;
  hook?(options: O, context: PluginContext): WorkloadHook;
}

export type Plugin = LossPlugin<any> | PortAllocatorPlugin<any> | WorkloadPlugin<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** A plugin loadPlugins imported: the module's URL (workers import it again) and the path or URL the scenario wrote. */
export type ModulePlugin = Plugin & { module: string; ref: string };
export type PluginKind = Plugin["kind"];
export const PLUGIN_KINDS: readonly PluginKind[] = ["loss", "portAllocator", "workload"];

export class PluginError extends Error {
  constructor(public readonly plugin: string, detail: string) {
    super(`plugin ${JSON.stringify(plugin)}: ${detail}`); // quoted and escaped: one line whatever the name
    this.name = "PluginError";
  }
}

/** Checks a plugin's shape once, when it is defined, so mistakes surface at import time. */
export function definePlugin<O>(plugin: LossPlugin<O>): LossPlugin<O>;
export function definePlugin<O>(plugin: PortAllocatorPlugin<O>): PortAllocatorPlugin<O>;
export function definePlugin<O>(plugin: WorkloadPlugin<O>): WorkloadPlugin<O>;
export function definePlugin(plugin: Plugin): Plugin {
  const name = typeof plugin?.name === "string" && plugin.name ? plugin.name : "(unnamed)";
  if (plugin === null || typeof plugin !== "object") throw new PluginError(name, "a plugin is an object made with definePlugin({...})");
  if (typeof plugin.name !== "string" || !/^[a-z0-9][\w.-]*$/i.test(plugin.name)) throw new PluginError(name, "needs a name: letters, digits, '-', '_' or '.'");
  if (typeof plugin.version !== "string" || !plugin.version) throw new PluginError(name, 'needs a version, e.g. "1.0.0"');
  if (!PLUGIN_KINDS.includes(plugin.kind)) {
    const kind = (plugin as { kind?: unknown }).kind;
    throw new PluginError(name, `kind ${typeof kind === "string" ? JSON.stringify(kind) : typeName(kind)} is not supported; allowed: ${PLUGIN_KINDS.map((k) => JSON.stringify(k)).join(", ")}`);
  }
  if (plugin.kind === "portAllocator") {
    // A port is chosen inside an event, where the engine cannot wait for JavaScript.
    if (typeof plugin.kernel !== "function") throw new PluginError(name, "needs a kernel(options): a portAllocator plugin runs in the engine");
  } else if (typeof plugin.kernel !== "function" && typeof plugin.hook !== "function") {
    throw new PluginError(name, "needs a kernel(options) or a hook(options, context), or both");
  }
  return Object.freeze({ ...plugin });
}

/** A kernel's answer, checked against the engine's vocabulary; a mistake names the plugin and the field. */
export function checkKernel(plugin: Plugin, value: unknown): LossKernel | AllocatorKernel | WorkloadKernel {
  const schema = plugin.kind === "loss" ? lossKernel : plugin.kind === "portAllocator" ? allocatorKernel : workloadKernel;
  const r = (schema as z.ZodType).safeParse(value);
  if (r.success) return r.data as LossKernel;
  const issue = r.error.issues[0];
  const at = issue.path.length ? ` at ${issue.path.map(String).join(".")}` : "";
  throw new PluginError(plugin.name, `kernel() returned a bad ${plugin.kind} kernel${at}: ${issue.message.replace(/^Invalid input: /, "")}`);
}

// ---- plugins known by name --------------------------------------------------------------
// The built-ins of plugins/ are registered by each entry point (the package, the CLI,
// the workers); a program may register its own. RunOptions.plugins wins over these.
const registry = new Map<string, Plugin>();

/** Makes plugins known by name to every scenario in this thread (a later one replaces an earlier one of its name). */
export function registerPlugins(...plugins: Plugin[]): void {
  for (const p of plugins) {
    definePlugin(p as LossPlugin); // the same checks as at definition, for objects made without it
    registry.set(p.name, p);
  }
}

/** A registered plugin, by name. */
export function registeredPlugin(name: string): Plugin | undefined {
  return registry.get(name);
}

/** The names of the registered plugins of one kind, in the order they were registered. */
export function registeredNames(kind: PluginKind): string[] {
  return [...registry.values()].filter((p) => p.kind === kind).map((p) => p.name);
}

/** Is this plugin reference a module to load (a path or URL) rather than a name? */
export function isModuleRef(ref: string): boolean {
  return /^(\.{1,2}\/|\/|file:|https?:)/.test(ref) || /\.(m?js|ts|mts)$/.test(ref);
}

/**
 * Seeded per plugin instance: the run's seed, the plugin's name and the direction's
 * stream index mix into a splitmix64 seed for an xorshift generator, so hooks never
 * need Math.random and two runs with one seed decide alike.
 */
export function pluginRandom(seed: number, name: string, stream: number): () => number {
  let h = 0xcbf29ce484222325n;
  for (const ch of `${name}#${stream}`) h = BigInt.asUintN(64, (h ^ BigInt(ch.codePointAt(0)!)) * 0x100000001b3n);
  let x = BigInt.asUintN(64, h ^ BigInt(seed));
  x = BigInt.asUintN(64, (x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n);
  x = BigInt.asUintN(64, (x ^ (x >> 27n)) * 0x94d049bb133111ebn);
  x ^= x >> 31n;
  const s = new Uint32Array([Number(x & 0xffffffffn) || 1, Number(x >> 32n), 0x9e3779b9, 0x7f4a7c15]);
  return () => {
    // xorshift128 (Marsaglia) on four u32 words.
    let t = s[3];
    const w = s[0];
    s[3] = s[2]; s[2] = s[1]; s[1] = w;
    t ^= t << 11; t ^= t >>> 8;
    s[0] = t ^ w ^ (w >>> 19);
    return s[0] / 4294967296;
  };
}
