// The host side of the hook tier for one run: finds each hooked plugin (passed in,
// registered by name, or imported from the module the plan names, in a worker as in
// the main thread), makes one hook per link direction or workload with its own seeded
// random stream, and serves the engine's batches (assembly/hooks.ts): loss verdicts,
// one call per hooked direction per epoch; arrivals, one call per hooked workload per
// window. A time limit per call. Kernels need none of this: the plan carries them as data.

import { Errno, HookField, Outcome, RunStatus, State } from "../assembly/abi.js";
import { flagText, type EngineExports } from "./engine.js";
import {
  pluginRandom, PluginError, registeredPlugin, type LossBatch, type LossHook, type LossPlugin, type Plugin, type PluginKind,
  type WorkloadHook, type WorkloadOutcomes, type WorkloadPlugin,
} from "./plugins.js";
import { ScenarioError, type Plan } from "./scenario.js";
import { hookEpoch } from "./groups.js";
import { importUserModule } from "./user-module.js";

export interface PluginHost {
  /** After configure(): the engine's epoch, from the hooked directions' latencies. */
  attach(e: EngineExports): void;
  /** Serves the batch the engine returned with RunStatus.HookBatch or RunStatus.WorkloadBatch. */
  serve(e: EngineExports, status: RunStatus): Promise<void>;
}

interface HookedDir { plugin: LossPlugin; hook: LossHook; from: string; to: string }
interface HookedWorkload { plugin: WorkloadPlugin; hook: WorkloadHook; seen: Uint32Array }

export async function hostPlugins(plan: Plan, given: Map<string, Plugin> | undefined, hookTimeoutMs: number): Promise<PluginHost | undefined> {
  if (plan.links.every((l) => !l.loss || l.loss.kernel) && plan.workloads.every((w) => !w.hook)) return undefined;

  const hooked = new Map<number, HookedDir>(); // engine direction -> its hook
  const epoch = hookEpoch(plan) ?? 1;
  for (const [i, l] of plan.links.entries()) {
    if (!l.loss || l.loss.kernel) continue; // a kernel runs in the engine; the hook tier is for the rest
    const plugin = await findPlugin(l.loss, "loss", given) as LossPlugin;
    const options = l.loss.options;
    // Directions are added in link order, two per link (engine.ts configure).
    for (const [k, from, to] of [[0, l.a, l.b], [1, l.b, l.a]] as const) {
      const random = pluginRandom(plan.seed, plugin.name, 2 * l.stream + k);
      const hook = guard(plugin, () => plugin.hook!(options, { random, seed: plan.seed, from, to }));
      if (!hook || typeof hook.decide !== "function") throw new PluginError(plugin.name, "hook() must return an object with decide(batch, drop)");
      hooked.set(2 * i + k, { plugin, hook, from, to });
    }
  }

  const workloads = new Map<number, HookedWorkload>(); // engine workload -> its hook
  for (const [i, w] of plan.workloads.entries()) {
    if (!w.hook) continue;
    const options = w.hook.options;
    try {
      const plugin = await findPlugin({ plugin: w.plugin, module: w.hook.module }, "workload", given) as WorkloadPlugin;
      const random = pluginRandom(plan.seed, plugin.name, 0x10000 + w.stream);
      const hook = guard(plugin, () => plugin.hook!(options, { random, seed: plan.seed, from: w.from, to: `${w.to}:${w.dstPort}` }));
      if (!hook || typeof hook.arrivals !== "function") throw new PluginError(plugin.name, "hook() must return an object with arrivals(window)");
      workloads.set(i, { plugin, hook, seen: new Uint32Array(Outcome.COUNT) });
    } catch (err) {
      throw err instanceof PluginError ? new ScenarioError(`scenario.workloads.${w.stream}`, err.message) : err;
    }
  }

  /** Each hooked workload's arrivals in the window the engine asks for, filed in it. */
  async function serveArrivals(e: EngineExports): Promise<void> {
    const from = e.workloadWindow();
    const to = Math.min(from + plan.sample, plan.duration);
    for (const [wi, { plugin, hook, seen }] of workloads) {
      // The engine's running counts (assembly/apps.ts outcome()); the hook gets what changed since it last asked.
      const now = new Uint32Array(e.memory.buffer, e.outcomesPtr() + wi * Outcome.COUNT * 4, Outcome.COUNT).slice();
      const d = (k: number) => now[k] - seen[k];
      const outcomes: WorkloadOutcomes = {
        attempted: d(Outcome.Attempted), established: d(Outcome.Established), completed: d(Outcome.Completed),
        failed: {
          EADDRNOTAVAIL: d(Outcome.Failed + Errno.EADDRNOTAVAIL), ECONNREFUSED: d(Outcome.Failed + Errno.ECONNREFUSED),
          ETIMEDOUT: d(Outcome.Failed + Errno.ETIMEDOUT), ECONNRESET: d(Outcome.Failed + Errno.ECONNRESET),
        },
      };
      seen.set(now);
      const got = await withTimeout(plugin, guard(plugin, () => hook.arrivals({ from: from / 1e6, to: to / 1e6, outcomes })), hookTimeoutMs);
      if (!got || typeof (got as ArrayLike<number>).length !== "number") throw new PluginError(plugin.name, "arrivals() must return a list of times in seconds");
      const times = Float64Array.from(got as ArrayLike<number>, (t) => Math.round(t * 1e6));
      for (const [j, t] of times.entries()) {
        if (!(t >= from && t < to)) {
          throw new PluginError(plugin.name, `arrivals() gave ${(got as ArrayLike<number>)[j]} for the window [${from / 1e6}, ${to / 1e6}) s; each time must be inside it`);
        }
      }
      times.sort();
      const ptr = e.arrivalsPtr(times.length);
      new Float64Array(e.memory.buffer, ptr, times.length).set(times);
      e.addArrivals(wi, times.length);
    }
    e.workloadBatchDone();
  }

  return {
    attach(e) {
      if (hooked.size > 0) e.setHookEpoch(epoch);
      if (workloads.size > 0) e.setWorkloadEpoch(plan.sample);
    },
    async serve(e, status) {
      if (status === RunStatus.WorkloadBatch) return serveArrivals(e);
      const n = e.hookCount();
      const view = new DataView(e.memory.buffer, e.hookPtr(), n * HookField.SIZE);
      const byDir = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const d = view.getUint16(i * HookField.SIZE + HookField.Dir, true);
        if (!byDir.has(d)) byDir.set(d, []);
        byDir.get(d)!.push(i);
      }
      const verdicts = new Uint8Array(n);
      for (const [d, records] of byDir) {
        const h = hooked.get(d);
        if (!h) continue;
        const batch = readBatch(view, records, h.from, h.to);
        const drop = new Uint8Array(records.length);
        await withTimeout(h.plugin, guard(h.plugin, () => h.hook.decide(batch, drop)), hookTimeoutMs);
        records.forEach((r, j) => { verdicts[r] = drop[j] ? 1 : 0; });
      }
      new Uint8Array(e.memory.buffer, e.verdictPtr(), n).set(verdicts);
      e.applyVerdicts();
    },
  };
}

async function findPlugin(c: { plugin: string; module?: string }, kind: PluginKind, given: Map<string, Plugin> | undefined): Promise<Plugin> {
  const known = given?.get(c.plugin) ?? (c.module ? given?.get(c.module) : undefined) ?? (c.module ? undefined : registeredPlugin(c.plugin));
  let plugin = known;
  if (!plugin) {
    if (!c.module) throw new PluginError(c.plugin, "is not available here; load it from a module path so workers can import it too");
    const mod = await importUserModule(c.module).catch((e: Error) => { throw new PluginError(c.plugin, `cannot load ${c.module}: ${e.message.split("\n")[0]}`); });
    plugin = mod.default as Plugin;
  }
  if (plugin?.kind !== kind || !("hook" in plugin) || typeof plugin.hook !== "function") throw new PluginError(c.plugin, "has neither a kernel nor a hook(options, context) here");
  return plugin;
}

function readBatch(view: DataView, records: number[], from: string, to: string): LossBatch {
  const k = records.length;
  const b: LossBatch = {
    from, to, size: k,
    t: new Float64Array(k), flags: new Uint8Array(k), flagText: [], seq: new Uint32Array(k), ack: new Uint32Array(k),
    len: new Uint32Array(k), conn: new Uint32Array(k), state: [],
  };
  records.forEach((r, j) => {
    const o = r * HookField.SIZE;
    b.t[j] = Number(view.getBigUint64(o + HookField.Time, true)) / 1e6;
    b.flags[j] = view.getUint8(o + HookField.Flags);
    b.flagText.push(flagText(b.flags[j]));
    b.seq[j] = view.getUint32(o + HookField.Seq, true);
    b.ack[j] = view.getUint32(o + HookField.Ack, true);
    b.len[j] = view.getUint32(o + HookField.Len, true);
    b.conn[j] = view.getUint32(o + HookField.Conn, true);
    b.state.push(State[view.getUint8(o + HookField.State)]);
  });
  return b;
}

/** A plugin's own exception becomes one that names it. */
function guard<T>(plugin: Plugin, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw named(plugin, e);
  }
}

function named(plugin: Plugin, e: unknown): PluginError {
  return e instanceof PluginError ? e : new PluginError(plugin.name, `threw: ${(e as Error)?.message ?? String(e)}`);
}

/**
 * An async hook gets `ms` per batch. A synchronous hook that never returns cannot be
 * stopped in its own thread; in a worker, ending the worker stops it (RunOptions.workers).
 */
async function withTimeout<T>(plugin: Plugin, work: T | Promise<T>, ms: number): Promise<T> {
  if (!(work instanceof Promise)) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PluginError(plugin.name, `a batch took longer than ${ms} ms (hookTimeout)`)), ms);
  });
  try {
    return await Promise.race([work.catch((e: unknown) => { throw named(plugin, e); }), late]);
  } finally {
    clearTimeout(timer);
  }
}
