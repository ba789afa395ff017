// `connsim run <scenario> [options]`: the CLI contract of DESIGN.md. User mistakes
// end with one line on stderr and exit code 2; engine failures with exit code 1.
// Arguments are parsed by node:util's parseArgs (built in, strict, no dependency).

import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { htmlReport } from "./report/html.js";
import { pcapBytes } from "./report/pcap.js";
import { csvCell, seriesCsv } from "./report/csv.js";
import { summary } from "./report/summary.js";
import { importPlugin, loadPlugins } from "./plugin-loader.js";
import { pluginDetail, pluginList } from "./plugin-docs.js";
import { isModuleRef, registeredNames, registeredPlugin, PLUGIN_KINDS, type Plugin } from "./plugins.js";
import { closest } from "./units.js";
import { runPlan, VERSION, type Progress } from "./run.js";
import { runOnPool } from "./workers/parallel.js";
import { WorkerPool } from "./workers/pool.js";
import { planShards } from "./workers/shard.js";
import { checkEngineFits } from "./limits.js";
import { parseVary, runSweep, sweepTable } from "./workers/sweep.js";
import { availableParallelism } from "node:os";
import { estimateEvents, planScenario, ScenarioError } from "./scenario.js";
import { snapshotScenario, type Snapshot } from "./snapshot.js";

const USAGE = "usage: connsim run <scenario.json|.js|.ts> [--workers N] [--json FILE] [--csv FILE] [--html FILE] [--pcap FILE] [--out DIR] [--seed N] [--trace N] [--quiet]";
const USAGE_SNAPSHOT = "usage: connsim snapshot <scenario.json|.js|.ts> --at TIME [--seed N] [--top N]";
const USAGE_SWEEP = "usage: connsim sweep <scenario.json|.js|.ts> --vary PATH=V1,V2,... | PATH=FROM:TO:COUNT [--vary ...] [--workers N] [--seed N] [--csv FILE] [--json FILE] [--quiet]";
const USAGE_PLUGINS = "usage: connsim plugins [NAME | ./module.js]";
const HELP = [USAGE, USAGE_SNAPSHOT, USAGE_SWEEP, USAGE_PLUGINS].map((u, i) => (i ? u.replace("usage:", "      ") : u)).join("\n") + "\n";

/** Runs estimated above this many events (about 15 minutes) are announced. */
const LONG_RUN_EVENTS = 3.6e9;

/** Connections traced for --pcap when neither --trace nor the scenario asks for any. */
const PCAP_DEFAULT_TRACE = 10;

class UsageError extends Error {}

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h") {
      if (command === undefined) {
        err.write(HELP);
        return 2;
      }
      out.write(HELP);
      return 0;
    }
    if (command === "run") return await run(rest, out, err);
    if (command === "snapshot") return await snapshot(rest, out);
    if (command === "sweep") return await sweep(rest, out, err);
    if (command === "plugins") return await plugins(rest, out);
    throw new UsageError(`unknown command "${command}"; the commands are run, snapshot, sweep and plugins`);
  } catch (e) {
    if (e instanceof ScenarioError || e instanceof UsageError) {
      err.write(`connsim: ${e.message}\n`);
      return 2;
    }
    err.write(`connsim: ${(e as Error).message}\n`);
    return 1;
  }
}

async function run(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        workers: { type: "string" }, json: { type: "string" }, csv: { type: "string" }, html: { type: "string" },
        pcap: { type: "string" }, seed: { type: "string" }, trace: { type: "string" }, quiet: { type: "boolean" },
        out: { type: "string" },
      },
    });
  } catch (e) {
    throw new UsageError(`${argsProblem(e as NodeJS.ErrnoException)}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${USAGE}`);
  const seed = intOption("--seed", values.seed);
  let trace = intOption("--trace", values.trace);
  const workers = workersOption(values.workers);

  const scenario = await loadScenario(positionals[0]);
  const plugins = await loadPlugins(scenario, [], dirname(resolve(positionals[0])));
  let plan = planScenario(scenario, { seed, trace, plugins });
  const notes: string[] = [];
  if (values.pcap && plan.trace === 0) {
    plan = { ...plan, trace: PCAP_DEFAULT_TRACE };
    notes.push(`(the first ${PCAP_DEFAULT_TRACE} connections; --trace N for others)`);
  }
  // What an engine cannot hold is refused before any output is opened (each worker's shard is an engine).
  for (const p of (workers > 1 && planShards(plan, workers)) || [plan]) checkEngineFits(p);
  // A run of hours deserves a word before it starts (at about 4 million events a second).
  const events = estimateEvents(plan);
  if (!values.quiet && events > LONG_RUN_EVENTS) {
    err.write(`connsim: about ${(events / 1e9).toFixed(1)} billion events, roughly ${(events / 4e6 / 3600).toFixed(1)} hours; Ctrl-C stops it and keeps what was simulated\n`);
  }
  const progress = values.quiet ? undefined : progressReporter(err);
  // --out DIR: samples go to DIR/samples.jsonl as they are taken, so a killed run
  // leaves every finished slice readable; the other files are written at the end.
  const sink = values.out ? outDir(values.out, plan) : undefined;
  const jsonFile = values.json ?? sink?.file("result.json");
  const csvFile = values.csv ?? sink?.file("series.csv");
  const htmlFile = values.html ?? sink?.file("report.html");
  const onProgress = progress || sink ? (p: Progress) => { sink?.samples(p); progress?.update(p); } : undefined;
  // Ctrl-C stops the run at the next slice and still writes what it has; a second one quits.
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    err.write("\nconnsim: stopping at the next slice (Ctrl-C again to quit now)\n");
    interrupt.abort();
  };
  process.on("SIGINT", onSigint);
  let result;
  try {
    // Independent host groups run in parallel workers; anything else runs here.
    if (workers > 1 && planShards(plan, workers)) {
      const pool = new WorkerPool({ workers });
      try {
        result = await runOnPool(plan, pool, { onProgress, signal: interrupt.signal });
      } finally {
        await pool.close();
      }
    } else {
      result = await runPlan(plan, { onProgress, signal: interrupt.signal });
    }
  } finally {
    process.off("SIGINT", onSigint);
    sink?.close();
  }
  progress?.done();

  // Every output is written even when the run stopped early: its samples are real.
  const wrote: string[] = sink ? [sink.file("samples.jsonl")] : [];
  if (jsonFile) { await writeAtomically(jsonFile, JSON.stringify(result, null, 2) + "\n"); wrote.push(jsonFile); }
  if (csvFile) { await writeAtomically(csvFile, seriesCsv(result)); wrote.push(csvFile); }
  if (htmlFile) {
    // The ephemeral range matters where connect() picks ports: hosts that open connections.
    const connecting = plan.hosts.filter((h) => plan.workloads.some((w) => w.from === h.name));
    const ranges = Object.fromEntries(connecting.map((h) => [h.name, h.ports[1] - h.ports[0] + 1]));
    await writeAtomically(htmlFile, await htmlReport(result, scenario, ranges));
    wrote.push(htmlFile);
  }
  if (values.pcap) {
    await writeAtomically(values.pcap, pcapBytes(result.traces ?? []));
    wrote.push(`${values.pcap} ${notes.join(" ")}`.trim());
  }
  if (!values.quiet) out.write(summary(result, plan, wrote));
  if (result.error) {
    err.write(`connsim: run stopped early: ${result.error}\n`);
    return 1;
  }
  return 0;
}

/** `connsim plugins`: the registered plugins and their options; one plugin, by name or module, in detail. */
async function plugins(args: string[], out: NodeJS.WritableStream): Promise<number> {
  if (args.length > 1 || args[0]?.startsWith("-")) throw new UsageError(USAGE_PLUGINS);
  const all = PLUGIN_KINDS.flatMap((k) => registeredNames(k)).map((n) => registeredPlugin(n)!);
  if (!args.length) {
    out.write(pluginList(all));
    return 0;
  }
  const ref = args[0];
  let plugin: Plugin | undefined = registeredPlugin(ref);
  if (!plugin && isModuleRef(ref)) plugin = await importPlugin(ref, "plugins", process.cwd());
  if (!plugin) {
    const hint = closest(ref, all.map((p) => p.name));
    throw new UsageError(`no plugin named "${ref}"${hint ? `; did you mean "${hint}"?` : "."} connsim plugins lists them`);
  }
  out.write(pluginDetail(plugin));
  return 0;
}

async function sweep(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args, allowPositionals: true,
      options: {
        vary: { type: "string", multiple: true }, workers: { type: "string" }, seed: { type: "string" },
        csv: { type: "string" }, json: { type: "string" }, quiet: { type: "boolean" },
      },
    });
  } catch (e) {
    throw new UsageError(`${argsProblem(e as NodeJS.ErrnoException)}; ${USAGE_SWEEP}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${USAGE_SWEEP}`);
  if (!values.vary?.length) throw new UsageError(`sweep needs at least one --vary PATH=VALUES, e.g. --vary workloads.0.rate=100,200; ${USAGE_SWEEP}`);
  const varies = values.vary.map(parseVary);
  const workers = workersOption(values.workers);
  const scenario = await loadScenario(positionals[0]);
  const plugins = await loadPlugins(scenario, [], dirname(resolve(positionals[0])));
  const tty = !values.quiet && (err as NodeJS.WriteStream).isTTY === true;
  const pool = new WorkerPool({ workers });
  let rows;
  try {
    rows = await runSweep(scenario, varies, pool, {
      seed: intOption("--seed", values.seed), plugins,
      onRun: tty ? (done, total) => err.write(`\r${done}/${total} runs done on ${workers} worker${workers === 1 ? "" : "s"}\x1b[K`) : undefined,
    });
  } finally {
    await pool.close();
  }
  if (tty) err.write("\r\x1b[K");
  const table = sweepTable(varies, rows);
  if (values.csv) await writeAtomically(values.csv, table.map((r) => r.map(csvCell).join(",")).join("\n") + "\n");
  if (values.json) {
    const json = rows.map((r) => ({ values: r.values, ...(r.result ? { totals: r.result.totals, peak: r.result.peak, engine: r.result.engine } : {}), ...(r.error ? { error: r.error } : {}) }));
    await writeAtomically(values.json, JSON.stringify(json, null, 2) + "\n");
  }
  if (!values.quiet) {
    const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
    const lastUsed = rows.some((r) => r.error) ? widths.length : widths.length - 1; // no error column when none failed
    out.write(table.map((r) => r.slice(0, lastUsed).map((cell, c) => (c < varies.length ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd()).join("\n") + "\n");
    for (const f of [values.csv, values.json]) if (f) out.write(`wrote ${f}\n`);
  }
  const failed = rows.filter((r) => r.error).length;
  if (failed) err.write(`connsim: ${failed} of ${rows.length} runs failed; their rows say why\n`);
  return failed ? 1 : 0;
}

/** --workers N, default the number of cores. */
function workersOption(v: string | undefined): number {
  const n = intOption("--workers", v) ?? availableParallelism();
  if (n < 1) throw new UsageError("--workers must be 1 or more");
  return n;
}

async function snapshot(args: string[], out: NodeJS.WritableStream): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { at: { type: "string" }, seed: { type: "string" }, top: { type: "string" } } });
  } catch (e) {
    throw new UsageError(`${argsProblem(e as NodeJS.ErrnoException)}; ${USAGE_SNAPSHOT}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${USAGE_SNAPSHOT}`);
  if (values.at === undefined) throw new UsageError(`snapshot needs --at TIME, e.g. --at 30s; ${USAGE_SNAPSHOT}`);
  const at = /^\d+(\.\d+)?$/.test(values.at) ? Number(values.at) : values.at;
  const snap = await snapshotScenario(await loadScenario(positionals[0]), {
    at, seed: intOption("--seed", values.seed), top: intOption("--top", values.top), baseDir: dirname(resolve(positionals[0])),
  });
  out.write(snapshotText(snap));
  return 0;
}

/** Like `ss -s`, per host: sockets by state, ports in use, the busiest local ports. */
function snapshotText(s: Snapshot): string {
  const lines = [`${s.name} at t=${s.t}s (seed ${s.seed})`];
  for (const [host, h] of Object.entries(s.hosts)) {
    const live = Object.entries(h.states).filter(([name, n]) => n > 0 && name !== "LISTEN");
    const total = live.reduce((sum, [, n]) => sum + n, 0);
    lines.push(`  ${host}: ${fmt(total)} TCP sockets${h.states.LISTEN ? `, ${h.states.LISTEN} listening` : ""}, ${fmt(h.portsInUse)} local port${h.portsInUse === 1 ? "" : "s"} in use`);
    if (live.length) lines.push(`    ${live.map(([name, n]) => `${name} ${fmt(n)}`).join(", ")}`);
    if (h.udpSockets) lines.push(`    UDP ${fmt(h.udpSockets)} socket${h.udpSockets === 1 ? "" : "s"} waiting for replies`);
    for (const p of h.busiest) {
      const tw = p.timeWait ? ` (${fmt(p.timeWait)} in TIME_WAIT)` : "";
      lines.push(`    ${`${p.ip}:${p.port}`.padEnd(22)}${fmt(p.sockets).padStart(8)} socket${p.sockets === 1 ? "" : "s"}${tw}${p.listening ? ", listening" : ""}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** parseArgs' messages are long and end with advice about "--"; say the problem briefly. */
function argsProblem(e: NodeJS.ErrnoException): string {
  const option = /'(-[^' ]+)/.exec(e.message)?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown option "${option}"`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option && /argument missing/.test(e.message)) return `${option} needs a value`;
  return e.message.split("\n")[0];
}

function intOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} expects a whole number, got "${v}"`);
  return Number(v);
}

/** JSON files are parsed; .js/.ts/.mjs modules export the scenario as default. */
async function loadScenario(file: string): Promise<unknown> {
  const path = resolve(file);
  const ext = extname(path);
  if (ext === ".json") {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
      throw new UsageError(`cannot read scenario file "${file}": ${why}`);
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      // V8 quotes a snippet of the text, which may hold newlines; keep the reason on one line.
      throw new UsageError(`${file} is not valid JSON: ${(e as Error).message.replace(/\s+/g, " ")}`);
    }
  }
  if (ext === ".js" || ext === ".mjs" || ext === ".ts" || ext === ".mts") {
    let mod;
    if (ext === ".ts" || ext === ".mts") {
      const esbuild = await import("esbuild");
      const built = await esbuild.build({ entryPoints: [path], bundle: true, write: false, format: "esm", platform: "node", packages: "external", logLevel: "silent" })
        .catch((e: Error & { errors?: { text: string; location?: { line: number; column: number } | null }[] }) => {
          const first = e.errors?.[0];
          const where = first?.location ? `:${first.location.line}:${first.location.column + 1}` : "";
          throw new UsageError(`cannot compile ${file}${where}: ${first ? first.text : e.message.split("\n")[0]}`);
        });
      // Beside the scenario, so its imports (connsim, other packages) resolve as they would for a .js file.
      const tmp = `${path}.connsim-${process.pid}.mjs`;
      await writeFile(tmp, built.outputFiles[0].text);
      try {
        mod = await import(pathToFileURL(tmp).href).catch((e: Error) => {
          throw new UsageError(`cannot load ${file}: ${e.message.split(tmp).join(file).split("\n")[0]}`);
        });
      } finally {
        await unlink(tmp).catch(() => {});
      }
    } else {
      mod = await import(pathToFileURL(path).href).catch((e: Error) => { throw new UsageError(`cannot load ${file}: ${e.message.split("\n")[0]}`); });
    }
    if (mod.default === undefined) throw new UsageError(`${file} has no default export; export the scenario object as default`);
    return mod.default;
  }
  throw new UsageError(`scenario file must end in .json, .js or .ts, got "${file}"`);
}

/** DIR/samples.jsonl, appended with one JSON line per sample as each slice ends. */
function outDir(dir: string, plan: { name: string; seed: number }) {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot make the directory: ${(e as Error).message}`);
  }
  const file = (name: string) => join(dir, name);
  const fd = openSync(file("samples.jsonl"), "w");
  writeSync(fd, JSON.stringify({ name: plan.name, seed: plan.seed, connsim: VERSION }) + "\n");
  return {
    file,
    samples(p: Progress) {
      if (p.samples.length) writeSync(fd, p.samples.map((s) => JSON.stringify(s)).join("\n") + "\n");
    },
    close() { closeSync(fd); },
  };
}

/** Write then rename, so a reader never sees half a file. */
async function writeAtomically(file: string, text: string | Uint8Array): Promise<void> {
  if (file === "-") {
    await new Promise<void>((done, fail) => process.stdout.write(text, (e) => (e ? fail(e) : done())));
    return;
  }
  // A device or a pipe (/dev/stdout, a FIFO) is written to, never replaced.
  const existing = await stat(file).catch(() => undefined);
  if (existing && !existing.isFile()) {
    await writeFile(file, text);
    return;
  }
  await mkdir(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/**
 * Progress for runs longer than a second: a bar redrawn in place on a terminal
 * (simulated time done, events, time left), or a plain line every 5 s when stderr is
 * a file or a pipe.
 */
function progressReporter(err: NodeJS.WritableStream) {
  const tty = (err as NodeJS.WriteStream).isTTY === true;
  const started = performance.now();
  let lastLine = 0;
  let drawn = false;
  return {
    update(p: Progress) {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed < 1) return;
      const frac = p.duration > 0 ? Math.min(1, p.t / p.duration) : 1;
      const eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
      const text = `${(frac * 100).toFixed(0).padStart(3)}%  t=${p.t.toFixed(1)}s of ${p.duration}s  ${fmt(p.events)} events  ${eta.toFixed(0)}s left`;
      if (tty) {
        const width = 30;
        err.write(`\r[${"#".repeat(Math.round(frac * width)).padEnd(width, ".")}] ${text}\x1b[K`);
        drawn = true;
      } else if (elapsed - lastLine >= 5) {
        err.write(`connsim: ${text}\n`);
        lastLine = elapsed;
      }
    },
    done() {
      if (drawn) err.write("\r\x1b[K");
    },
  };
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}
