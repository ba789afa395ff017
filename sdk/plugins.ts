// The plugin API (DESIGN "The JS/WASM boundary"). A plugin is a plain object made with
// definePlugin: a kind, a name, a version, an options schema (zod, checked before the
// run, errors name the plugin and the field), and one or both tiers:
//   kernel(options)       a declarative model the engine runs itself (no JS per segment);
//   hook(options, ctx)    TypeScript the engine calls once per epoch with a batch of
//                         decisions, never once per segment.
// Loss plugins exist today; port allocators and workloads come next.
//
// Plugins are found by the name a scenario gives (`"loss": { "plugin": "my-loss", ...}`)
// among those passed in RunOptions.plugins, or loaded from a module path or URL
// (`"plugin": "./my-loss.js"`), whose default export is the plugin.

import { z } from "zod";
import { typeName } from "./units.js";

export { z };

/** What a kernel asks the engine to run. */
export type LossKernel =
  | { model: "none" }
  | { model: "bernoulli"; p: number }
  | { model: "gilbert-elliott"; p: number; r: number; k?: number; h?: number };

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
  /** Connection number, in connect() order. */
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
  /** Uniform in [0, 1), from a stream seeded by the run's seed, the plugin and the direction. */
  random(): number;
  seed: number;
  from: string;
  to: string;
}

export interface LossPlugin<O = Record<string, unknown>> {
  kind: "loss";
  name: string;
  version: string;
  /** The plugin's options (the scenario's loss object without "plugin"). */
  options?: z.ZodType<O>;
  kernel?(options: O): LossKernel;
  hook?(options: O, context: PluginContext): LossHook;
}

export type Plugin = LossPlugin<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export class PluginError extends Error {
  constructor(public readonly plugin: string, detail: string) {
    super(`plugin ${JSON.stringify(plugin)}: ${detail}`); // quoted and escaped: one line whatever the name
    this.name = "PluginError";
  }
}

/** Checks a plugin's shape once, when it is defined, so mistakes surface at import time. */
export function definePlugin<O>(plugin: LossPlugin<O>): LossPlugin<O> {
  const name = typeof plugin?.name === "string" && plugin.name ? plugin.name : "(unnamed)";
  if (plugin === null || typeof plugin !== "object") throw new PluginError(name, "a plugin is an object made with definePlugin({...})");
  if (typeof plugin.name !== "string" || !/^[a-z0-9][\w.-]*$/i.test(plugin.name)) throw new PluginError(name, "needs a name: letters, digits, '-', '_' or '.'");
  if (typeof plugin.version !== "string" || !plugin.version) throw new PluginError(name, 'needs a version, e.g. "1.0.0"');
  if (plugin.kind !== "loss") throw new PluginError(name, `kind ${typeof plugin.kind === "string" ? JSON.stringify(plugin.kind) : typeName(plugin.kind)} is not supported; allowed: "loss"`);
  if (typeof plugin.kernel !== "function" && typeof plugin.hook !== "function") {
    throw new PluginError(name, "needs a kernel(options) or a hook(options, context), or both");
  }
  return Object.freeze({ ...plugin });
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
