// `connsim run <scenario> [options]`: the CLI contract of DESIGN.md. User mistakes
// end with one line on stderr and exit code 2; engine failures with exit code 1.
// Arguments are parsed by node:util's parseArgs (built in, strict, no dependency).

import { closeSync, ftruncateSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
// The writers (JSON, CSV, HTML, pcap), the worker pool, sweeps and snapshots are imported
// where a command asks for them (`await import`): a plain run starts without them.
import { summary } from "./report/summary.js";
import { importPlugin, loadPlugins } from "./plugin-loader.js";
import { importUserModule } from "./user-module.js";
import { isModuleRef, registeredNames, registeredPlugin, PLUGIN_KINDS, type Plugin } from "./plugins.js";
import { LIMITS, wholeFlag } from "./options.js";
import { closest, visible } from "./units.js";
import { checkExpectations, parseExpectation, type Expectation } from "./expect.js";
import { parseJsonText } from "./json-text.js";
import { defaultEngineBytes, runPlan, VERSION, type Progress } from "./run.js";
import { compileEngine } from "./engine.js";
import { planShards } from "./workers/shard.js";
import { splitFor } from "./workers/pdes.js";
import { checkEngineFits } from "./limits.js";
import { availableParallelism } from "node:os";
import { estimateEvents, MAX_TRACE, planScenario, ScenarioError, tooManyTraced } from "./scenario.js";
import type { Snapshot } from "./snapshot.js";

/** 12 random hex digits for a temp file's name (Web Crypto: node:crypto's start-up is paid only when a file is written). */
const randomHex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");

/** A flag of a command: its value's name (none for a switch), and what it does. */
interface FlagSpec { value?: string; multiple?: true; required?: true; help: string }
interface CommandSpec { args: string; about: string; flags: Record<string, FlagSpec> }

/** Every command and flag, for the parser, `--help`, `connsim help` and the unknown-flag message. */
const COMMANDS: Record<string, CommandSpec> = {
  run: {
    args: "<scenario.json|.js|.ts>",
    about: "Runs a scenario and prints its summary; writes the result, series, report and capture where asked.",
    flags: {
      json: { value: "FILE", help: "the full result as JSON (- for stdout)" },
      csv: { value: "FILE", help: "the series, one row per sample (- for stdout)" },
      html: { value: "FILE", help: "an offline HTML report with charts (- for stdout)" },
      pcap: { value: "FILE", help: "the traced connections as a pcap capture (- for stdout)" },
      out: { value: "DIR", help: "samples.jsonl as the run goes, then result.json, series.csv, report.html (a file flag wins for its file)" },
      expect: { value: "CHECK", multiple: true, help: "a check on the result, e.g. 'failed.EADDRNOTAVAIL==0'; exit 3 if one fails" },
      workers: { value: "N", help: "worker threads for independent host groups, or a long connected run split in step (default: the cores)" },
      seed: { value: "N", help: "the seed, instead of the scenario's" },
      trace: { value: "N", help: "record the first N connections of each group of linked hosts" },
      quiet: { help: "print no summary or progress" },
    },
  },
  snapshot: {
    args: "<scenario.json|.js|.ts>",
    about: "Runs a scenario up to one instant and prints what `ss -s` would: sockets per state, ports in use, the busiest ports.",
    flags: {
      at: { value: "TIME", required: true, help: "the instant, a duration like 30s (required)" },
      seed: { value: "N", help: "the seed, instead of the scenario's" },
      top: { value: "N", help: "the busiest local ports listed per host (default 5)" },
      json: { value: "FILE", help: "the snapshot as JSON (- for stdout, the text view then goes to stderr)" },
    },
  },
  sweep: {
    args: "<scenario.json|.js|.ts>",
    about: "Runs the scenario once per combination of the --vary values, over worker threads (or, with --queue, on `connsim worker`s on any machines); one row per run.",
    flags: {
      vary: { value: "PATH=V1,V2,... | PATH=FROM:TO:COUNT", multiple: true, help: "a scenario field and its values; without it, the scenario's `vary`" },
      workers: { value: "N", help: "worker threads (default: the cores)" },
      seed: { value: "N", help: "the seed, instead of the scenario's" },
      csv: { value: "FILE", help: "the table as CSV (- for stdout)" },
      json: { value: "FILE", help: "JSON Lines, one object per run (- for stdout)" },
      html: { value: "FILE", help: "a page with the table and each run's charts side by side" },
      queue: { value: "redis://HOST:PORT[/DB]", help: "one job per run on this Redis, for `connsim worker`s on any machines; waits for them" },
      results: { value: "file:///DIR", help: "with --queue: where workers write results too large for Redis (a directory all machines see)" },
      quiet: { help: "print no table" },
    },
  },
  worker: {
    args: "",
    about: "Takes the runs of queued sweeps (sweep --queue) and runs them on this machine's threads until Ctrl-C or SIGTERM (finishes the running jobs; a second signal gives them back).",
    flags: {
      queue: { value: "redis://HOST:PORT[/DB]", required: true, help: "the Redis the sweeps are queued on (required)" },
      concurrency: { value: "N", help: "runs at once (default: the cores)" },
    },
  },
  plugins: {
    args: "[NAME | ./module.js]",
    about: "Lists the plugins a scenario can name, or one plugin's options in detail.",
    flags: {},
  },
  help: { args: "[COMMAND]", about: "Prints this overview, or one command's flags.", flags: {} },
};

/** "usage: connsim run <scenario> [--json FILE] ... [--quiet]" */
function usage(command: string): string {
  const c = COMMANDS[command];
  const flags = Object.entries(c.flags).map(([name, f]) => {
    const text = `--${name}${f.value ? ` ${f.value}` : ""}`;
    return f.required ? (f.multiple ? `${text} [--${name} ...]` : text) : f.multiple ? `[${text} ...]` : `[${text}]`;
  });
  return ["usage: connsim", command, c.args, ...flags].filter(Boolean).join(" ");
}

/** `connsim help`: every command's synopsis. */
function overview(): string {
  const lines = Object.keys(COMMANDS).filter((c) => c !== "help").map((c, i) => (i ? usage(c).replace("usage:", "      ") : usage(c)));
  return `${lines.join("\n")}\n\nconnsim help COMMAND (or connsim COMMAND --help) describes a command's flags; connsim --version prints the version.\n`;
}

/** `connsim help run`, `connsim run --help`: the synopsis, what it does, each flag. */
function commandHelp(command: string): string {
  const c = COMMANDS[command];
  const flags = Object.entries(c.flags).map(([name, f]) => [`--${name}${f.value ? ` ${f.value}` : ""}`, f.help]);
  const width = Math.max(0, ...flags.map(([f]) => (f.length > 28 ? 0 : f.length)));
  const rows = flags.map(([f, help]) => (f.length > 28 ? `  ${f}\n  ${"".padEnd(width)}  ${help}` : `  ${f.padEnd(width)}  ${help}`));
  return `${usage(command)}\n\n${c.about}\n${rows.length ? `\n${rows.join("\n")}\n` : ""}`;
}

/** A command's flags parsed (strict: an unknown flag is named with the command's own flags). */
function parseFlags(command: string, args: string[]) {
  const options = Object.fromEntries(Object.entries(COMMANDS[command].flags).map(([name, f]) =>
    [name, { type: f.value ? "string" as const : "boolean" as const, ...(f.multiple ? { multiple: true } : {}) }]));
  try {
    const { values, positionals } = parseArgs({ args: negativeValues(args), allowPositionals: true, options });
    return { values: values as Record<string, string | undefined> & { quiet?: boolean; vary?: string[]; expect?: string[] }, positionals };
  } catch (e) {
    throw new UsageError(argsProblem(e as NodeJS.ErrnoException, command));
  }
}

/** Runs estimated above this many events (about 15 minutes) are announced. */
const LONG_RUN_EVENTS = 3.6e9;

/** "about 7.2 billion events, roughly 0.5 hours" (at about 4 million events a second). */
function howLong(events: number): string {
  return `about ${(events / 1e9).toFixed(1)} billion events, roughly ${(events / 4e6 / 3600).toFixed(1)} hours`;
}

/** Connections traced for --pcap when neither --trace nor the scenario asks for any. */
const PCAP_DEFAULT_TRACE = 10;

class UsageError extends Error {}
/** An output that could not be written: the file and the errno. */
class WriteError extends Error {}

/** Exit codes: 0 all well, 1 the run failed or stopped early or an output could not be written, 2 bad input, 3 a check failed. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, checkFailed: 3 } as const;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined) {
      err.write(overview());
      return EXIT.badInput;
    }
    if (command === "--help" || command === "-h" || (command === "help" && rest.length === 0)) {
      out.write(overview());
      return EXIT.ok;
    }
    if (command === "--version" || command === "-V") {
      out.write(`connsim ${VERSION}\n`);
      return EXIT.ok;
    }
    if (command === "help" || (Object.hasOwn(COMMANDS, command) && (rest.includes("--help") || rest.includes("-h")))) {
      const which = command === "help" ? rest[0] : command;
      if (rest.length > 1 && command === "help") throw new UsageError(`help takes one command; ${usage("help")}`);
      if (!Object.hasOwn(COMMANDS, which)) throw new UsageError(unknownCommand(which));
      out.write(commandHelp(which));
      return EXIT.ok;
    }
    if (command === "run") return await run(rest, out, err);
    if (command === "snapshot") return await snapshot(rest, out, err);
    if (command === "sweep") return await sweep(rest, out, err);
    if (command === "plugins") return await plugins(rest, out);
    if (command === "worker") return await worker(rest, err);
    throw new UsageError(unknownCommand(command));
  } catch (e) {
    if (e instanceof ScenarioError || e instanceof UsageError) {
      err.write(`connsim: ${visible(e.message)}\n`);
      return EXIT.badInput;
    }
    err.write(`connsim: ${visible((e as Error).message)}\n`);
    return EXIT.failed;
  }
}

function unknownCommand(command: string): string {
  const names = Object.keys(COMMANDS);
  const hint = closest(command, names);
  return `unknown command "${command}"${hint ? ` (did you mean "${hint}"?)` : ""}; the commands are ${names.slice(0, -1).join(", ")} and ${names.at(-1)} (connsim help)`;
}

async function run(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseFlags("run", args);
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${usage("run")}`);
  // Data written to stdout (FILE "-") is all stdout carries: the summary goes to stderr.
  const piped = toStdout(["json", "csv", "html", "pcap"], values);
  const checksGiven = (values.expect ?? []).map((text) => {
    const e = parseExpectation(text);
    if (typeof e === "string") throw new UsageError(`--expect ${e}`);
    return e;
  });
  const seed = wholeFlag("--seed", values.seed, LIMITS.seed);
  let trace = wholeFlag("--trace", values.trace, LIMITS.trace);
  if (trace !== undefined && trace > MAX_TRACE) throw new UsageError(`--trace ${values.trace}: ${tooManyTraced(trace)}`);
  const workers = workersOption(values.workers);
  // The engine compiles on V8's background threads while the scenario is read and checked
  // (compileEngine keeps it for the run, here or in a pool; a failure shows at the run).
  compileEngine("release", () => defaultEngineBytes("release")).catch(() => {});

  const scenario = await loadScenario(positionals[0]);
  const plugins = await loadPlugins(scenario, [], dirname(resolve(positionals[0])));
  let plan = planScenario(scenario, { seed, trace, plugins });
  // The scenario's checks, then the command line's (both checked by now).
  const checks = [...((scenario as { expect?: string[] }).expect ?? []).map((t) => parseExpectation(t) as Expectation), ...checksGiven];
  const notes: string[] = [];
  if (values.pcap && plan.trace === 0) {
    plan = { ...plan, trace: PCAP_DEFAULT_TRACE };
    notes.push(`(the first ${PCAP_DEFAULT_TRACE} connections; --trace N for others)`);
  }
  // What an engine cannot hold is refused before any output is opened (each worker's shard is an engine).
  for (const p of (workers > 1 && planShards(plan, workers)) || [plan]) checkEngineFits(p);
  // A run of hours deserves a word before it starts (at about 4 million events a second).
  const events = estimateEvents(plan);
  if (!values.quiet && events > LONG_RUN_EVENTS) err.write(`connsim: ${howLong(events)}; Ctrl-C stops it and keeps what was simulated\n`);
  // A connected scenario is split over workers in step (workers/pdes.ts) only when it is
  // long enough for the workers' start and the windows' barriers to pay.
  const split = workers > 1 && splitFor(plan, workers) !== undefined;
  const progress = values.quiet ? undefined : progressReporter(err);
  const interrupt = new AbortController();
  // --out DIR: samples go to DIR/samples.jsonl as they are taken, so a killed run
  // leaves every finished slice readable; the other files are written at the end.
  const sink = values.out ? outDir(values.out, plan, () => interrupt.abort()) : undefined;
  const jsonFile = values.json ?? sink?.file("result.json");
  const csvFile = values.csv ?? sink?.file("series.csv");
  const htmlFile = values.html ?? sink?.file("report.html");
  const onProgress = progress || sink ? (p: Progress) => { sink?.samples(p); progress?.update(p); } : undefined;
  // Ctrl-C stops the run at the next slice and still writes what it has; a second one quits.
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    err.write("\nconnsim: stopping at the next slice (Ctrl-C again to quit now)\n");
    interrupt.abort();
  };
  process.on("SIGINT", onSigint);
  let result;
  try {
    // Independent host groups run in parallel workers, and so do parts of a long connected run; anything else runs here.
    if (workers > 1 && (planShards(plan, workers) || split)) {
      const [{ WorkerPool }, { runOnPool }] = await Promise.all([import("./workers/pool.js"), import("./workers/parallel.js")]);
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

  // Every output is written even when the run stopped early: its samples are real. Each
  // is written piece by piece (a long run's JSON is longer than a string can be); one
  // that fails (disk full) leaves no temp file and does not stop the others.
  const failed: string[] = sink?.error ? [`--out: ${sink.error}`] : [];
  const wrote: string[] = sink && !sink.error ? [sink.file("samples.jsonl")] : [];
  const output = async (flag: string, file: string, data: () => Promise<string | Uint8Array | Iterable<string>>, note = "") => {
    try {
      await writeAtomically(file, await data(), out);
      if (file !== "-") wrote.push(`${file} ${note}`.trim());
    } catch (e) {
      if (!(e instanceof WriteError)) throw e;
      failed.push(`${values[flag] === file ? `--${flag}` : "--out"}: ${e.message}`);
    }
  };
  if (jsonFile) await output("json", jsonFile, async () => jsonLines(result, (await import("./report/json.js")).jsonChunks));
  if (csvFile) await output("csv", csvFile, async () => (await import("./report/csv.js")).seriesCsvChunks(result));
  if (htmlFile) {
    const { htmlReportPieces, reportRanges } = await import("./report/html.js");
    await output("html", htmlFile, () => htmlReportPieces(result, scenario, reportRanges(plan)));
  }
  if (values.pcap) await output("pcap", values.pcap, async () => (await import("./report/pcap.js")).pcapBytes(result.traces ?? []), notes.join(" "));
  const outcomes = checkExpectations(result, checks);
  if (!values.quiet) (piped ? err : out).write(summary(result, plan, wrote, outcomes));
  for (const f of failed) err.write(`connsim: ${visible(f)}\n`);
  // A run stopped for a failed samples.jsonl was cancelled by us: the line above says why.
  if (result.error && !(sink?.error && result.error === "cancelled")) err.write(`connsim: run stopped early: ${visible(result.error)}\n`);
  const missed = outcomes.filter((c) => !c.held);
  if (missed.length) err.write(`connsim: ${missed.length} of ${outcomes.length} check${outcomes.length === 1 ? "" : "s"} failed: ${missed.map((c) => `${c.text} (${fmt(c.actual)})`).join(", ")}\n`);
  return result.error || failed.length ? EXIT.failed : missed.length ? EXIT.checkFailed : EXIT.ok;
}

/** Whether one of these file flags is "-" (stdout); two of them cannot share it. */
function toStdout(flags: string[], values: Record<string, unknown>): boolean {
  const dashed = flags.filter((f) => values[f] === "-");
  if (dashed.length > 1) throw new UsageError(`${dashed.map((f) => `--${f} -`).join(" and ")}: only one output can go to stdout`);
  return dashed.length === 1;
}

/** JSON.stringify(value, null, 2) and a newline, in pieces. */
function* jsonLines(value: unknown, jsonChunks: typeof import("./report/json.js").jsonChunks): Generator<string> {
  yield* jsonChunks(value, 2);
  yield "\n";
}

/** `connsim plugins`: the registered plugins and their options; one plugin, by name or module, in detail. */
async function plugins(args: string[], out: NodeJS.WritableStream): Promise<number> {
  if (args[0]?.startsWith("-")) parseFlags("plugins", args); // names the flag
  if (args.length > 1) throw new UsageError(`expected one plugin at most; ${usage("plugins")}`);
  const all = PLUGIN_KINDS.flatMap((k) => registeredNames(k)).map((n) => registeredPlugin(n)!);
  const { pluginDetail, pluginList } = await import("./plugin-docs.js");
  if (!args.length) {
    out.write(visible(pluginList(all), "\n"));
    return 0;
  }
  const ref = args[0];
  let plugin: Plugin | undefined = registeredPlugin(ref);
  const byPath = !plugin && isModuleRef(ref);
  if (byPath) plugin = await importPlugin(ref, "plugins", process.cwd());
  if (!plugin) {
    const hint = closest(ref, all.map((p) => p.name));
    throw new UsageError(`no plugin named "${ref}"${hint ? `; did you mean "${hint}"?` : "."} connsim plugins lists them`);
  }
  out.write(visible(pluginDetail(plugin, byPath ? ref : undefined), "\n")); // a plugin module's texts are its author's
  return 0;
}

async function sweep(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseFlags("sweep", args);
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${usage("sweep")}`);
  const piped = toStdout(["csv", "json", "html"], values);
  const [{ declaredVary, parseVary, runSweep, sweepCsv, sweepTable }, { WorkerPool }] = await Promise.all([import("./workers/sweep.js"), import("./workers/pool.js")]);
  const workers = workersOption(values.workers);
  const scenario = await loadScenario(positionals[0]);
  // --vary, or the sweep the scenario declares (its `vary`).
  const varies = values.vary?.length ? values.vary.map(parseVary) : declaredVary(scenario);
  if (!varies) throw new UsageError(`sweep needs at least one --vary PATH=VALUES, e.g. --vary workloads.0.rate=100,200, or a scenario with "vary"; ${usage("sweep")}`);
  const tty = !values.quiet && (err as NodeJS.WriteStream).isTTY === true;
  // --queue: the runs go to Redis for `connsim worker`s; its module (and bullmq) loads only then.
  const queued = values.queue ? await import("./queue/cli.js") : undefined;
  if (values.results && !queued) throw new UsageError("--results is for a queued sweep: --queue redis://HOST:PORT --results file:///DIR");
  if (values.workers && queued) throw new UsageError("--workers is for a local sweep; a queued sweep runs on each `connsim worker --concurrency N`");
  // A local sweep's workers start and the engine compiles while the plugins load and each point is checked.
  const pool = queued ? undefined : new WorkerPool({ workers });
  pool?.warm(varies.reduce((n, v) => n * v.values.length, 1));
  let rows;
  try {
    const plugins = await loadPlugins(scenario, [], dirname(resolve(positionals[0])));
    rows = await (queued?.queuedSweep(values, err) ?? runSweep)(scenario, varies, pool!, {
      seed: wholeFlag("--seed", values.seed, LIMITS.seed), plugins,
      // Each point gets the warning a `run` of it would, before any starts.
      onPlanned: values.quiet ? undefined : (plans, grid) => {
        const long = plans.map((p, i) => [estimateEvents(p), i] as const).filter(([n]) => n > LONG_RUN_EVENTS);
        if (!long.length) return;
        const [events, i] = long.reduce((a, b) => (b[0] > a[0] ? b : a));
        const which = Object.entries(grid[i]).map(([path, v]) => `${path}=${v}`).join(" ");
        err.write(`connsim: --vary ${visible(which)}: ${howLong(events)}${long.length > 1 ? ` (the longest of ${long.length} runs above 15 minutes)` : ""}; Ctrl-C stops the sweep\n`);
      },
      onRun: tty ? (done, total) => err.write(`\r${done}/${total} runs done on ${workers} worker${workers === 1 ? "" : "s"}\x1b[K`) : undefined,
    });
  } finally {
    await pool?.close();
  }
  if (tty) err.write("\r\x1b[K");
  const table = sweepTable(varies, rows);
  const written = async (flag: "csv" | "json" | "html", data: Iterable<string>) => {
    await writeAtomically(values[flag]!, data, out).catch((e: unknown) => {
      throw e instanceof WriteError ? new WriteError(`--${flag}: ${e.message}`) : e;
    });
  };
  if (values.csv) await written("csv", [sweepCsv(varies, rows)]);
  if (values.html) {
    const sc = scenario as { name?: unknown; description?: unknown };
    const label = (v: Record<string, unknown>) => Object.entries(v).map(([p, x]) => `${p}=${x}`).join(" ");
    const { sweepHtmlPage } = await import("./report/html.js");
    await written("html", [await sweepHtmlPage(typeof sc.name === "string" ? sc.name : "sweep", typeof sc.description === "string" ? sc.description : "",
      table[0], table.slice(1), rows.map((r) => ({ label: label(r.values), result: r.result })))]);
  }
  if (values.json) {
    const json = rows.map((r) => ({ values: r.values, ...(r.result ? { totals: r.result.totals, peak: r.result.peak, engine: r.result.engine } : {}), ...(r.error ? { error: r.error } : {}) }));
    await written("json", json.map((row) => JSON.stringify(row) + "\n")); // JSON Lines: one run a line
  }
  if (!values.quiet) {
    out = piped ? err : out; // stdout carries the data alone
    const shown = table.map((r) => r.map((cell) => visible(cell)));
    const widths = shown[0].map((_, c) => Math.max(...shown.map((r) => r[c].length)));
    const lastUsed = rows.some((r) => r.error) ? widths.length : widths.length - 1; // no error column when none failed
    out.write(shown.map((r) => r.slice(0, lastUsed).map((cell, c) => (c < varies.length ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd()).join("\n") + "\n");
    for (const f of [values.csv, values.json, values.html]) if (f && f !== "-") out.write(`wrote ${visible(f)}\n`);
  }
  const failed = rows.filter((r) => r.error).length;
  if (failed) err.write(`connsim: ${failed} of ${rows.length} runs failed; their rows say why\n`);
  return failed ? 1 : 0;
}

/** `connsim worker`: in its own module with the queue library, loaded only for this command. */
async function worker(args: string[], err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseFlags("worker", args);
  if (positionals.length) throw new UsageError(`worker takes no arguments; ${usage("worker")}`);
  if (!values.queue) throw new UsageError(`worker needs --queue redis://HOST:PORT; ${usage("worker")}`);
  const { workerCommand } = await import("./queue/cli.js");
  return workerCommand({ queue: values.queue, concurrency: values.concurrency }, err);
}

/** --workers N, default the number of cores. */
function workersOption(v: string | undefined): number {
  return wholeFlag("--workers", v, LIMITS.workers) ?? Math.min(availableParallelism(), LIMITS.workers[1]);
}

async function snapshot(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseFlags("snapshot", args);
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${usage("snapshot")}`);
  if (values.at === undefined) throw new UsageError(`snapshot needs --at TIME, e.g. --at 30s; ${usage("snapshot")}`);
  const at = /^\d+(\.\d+)?$/.test(values.at) ? Number(values.at) : values.at;
  const { snapshotScenario } = await import("./snapshot.js");
  const snap = await snapshotScenario(await loadScenario(positionals[0]), {
    at, seed: wholeFlag("--seed", values.seed, LIMITS.seed), top: wholeFlag("--top", values.top, [0, 65535]), baseDir: dirname(resolve(positionals[0])),
  });
  // --json FILE: the Snapshot as snapshotScenario returns it; with "-", stdout holds only that.
  const text = values.json === "-" ? err : out;
  text.write(visible(snapshotText(snap), "\n"));
  if (values.json !== undefined) {
    await writeAtomically(values.json, jsonLines(snap, (await import("./report/json.js")).jsonChunks), out).catch((e: unknown) => {
      throw e instanceof WriteError ? new WriteError(`--json: ${e.message}`) : e;
    });
    if (values.json !== "-") text.write(`wrote ${visible(values.json)}\n`);
  }
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

/**
 * `--seed -1` as `--seed=-1`: parseArgs calls a value that starts with a dash ambiguous,
 * where the user meant a (bad) number that the flag's own check should name.
 */
function negativeValues(args: string[]): string[] {
  return args.flatMap((a, i) => (/^-\d/.test(a) && /^--[a-z]+$/.test(args[i - 1] ?? "") ? [] : /^--[a-z]+$/.test(a) && /^-\d/.test(args[i + 1] ?? "") ? [`${a}=${args[i + 1]}`] : [a]));
}

/** parseArgs' messages are long and end with advice about "--"; say the problem briefly, with the command's flags. */
function argsProblem(e: NodeJS.ErrnoException, command: string): string {
  const option = /'(-[^' ]+)/.exec(e.message)?.[1];
  const flags = Object.keys(COMMANDS[command].flags).map((f) => `--${f}`);
  const theirs = flags.length ? `connsim ${command} takes ${flags.join(", ")}` : `connsim ${command} takes no flags`;
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) {
    const hint = closest(option.replace(/^-+/, "").split("=")[0], flags.map((f) => f.slice(2)));
    return `unknown option "${option}"${hint ? ` (did you mean "--${hint}"?)` : ""}; ${theirs} (connsim help ${command})`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    const f = COMMANDS[command].flags[option.replace(/^-+/, "")];
    if (f?.value) return `${option} needs a value: ${option} ${f.value}`;
    if (f) return `${option} takes no value`;
  }
  return `${e.message.split("\n")[0]}; ${usage(command)}`;
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
    const parsed = parseJsonText(text);
    if ("error" in parsed) throw new UsageError(`${file} is not valid JSON: ${parsed.error}`);
    return parsed.value;
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
      const tmp = `${path}.connsim-${process.pid}-${randomHex()}.mjs`;
      await writeFile(tmp, built.outputFiles[0].text, { flag: "wx" }); // exclusive: never through a planted link
      try {
        mod = await importUserModule(pathToFileURL(tmp).href).catch((e: Error) => {
          throw new UsageError(`cannot load ${file}: ${e.message.split(tmp).join(file).split("\n")[0]}`);
        });
      } finally {
        await unlink(tmp).catch(() => {});
      }
    } else {
      mod = await importUserModule(pathToFileURL(path).href).catch((e: Error) => { throw new UsageError(`cannot load ${file}: ${e.message.split("\n")[0]}`); });
    }
    if (mod.default === undefined) throw new UsageError(`${file} has no default export; export the scenario object as default`);
    return mod.default;
  }
  throw new UsageError(`scenario file must end in .json, .js or .ts, got "${file}"`);
}

/**
 * DIR/samples.jsonl, appended with one JSON line per sample as each slice ends. A write
 * that fails (disk full) is cut back to the last whole line, later samples are not
 * written, and `stop` ends the run: `error` says which file and why.
 */
function outDir(dir: string, plan: { name: string; seed: number }, stop: () => void) {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`--out ${dir}: cannot make the directory: ${(e as Error).message}`);
  }
  const file = (name: string) => join(dir, name);
  const path = file("samples.jsonl");
  let fd: number;
  try {
    fd = openSync(path, "w");
  } catch (e) {
    throw writeError(path, e);
  }
  let size = 0; // bytes of whole lines
  let error: string | undefined;
  const append = (text: string) => {
    if (error) return;
    try {
      size += writeAll(fd, text);
    } catch (e) {
      try { ftruncateSync(fd, size); } catch { /* a device cannot be truncated; nothing more is written to it */ }
      error = writeError(path, e).message;
      stop();
    }
  };
  append(JSON.stringify({ name: plan.name, seed: plan.seed, connsim: VERSION }) + "\n");
  if (error) { closeSync(fd); throw new WriteError(error); }
  return {
    file,
    get error() { return error; },
    samples(p: Progress) {
      if (p.samples.length) append(p.samples.map((s) => JSON.stringify(s) + "\n").join(""));
    },
    close() { closeSync(fd); },
  };
}

/** Writes all of `text` (a write may take only part of it); returns the bytes written. */
function writeAll(fd: number, text: string | Uint8Array): number {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  for (let o = 0; o < bytes.length;) o += writeSync(fd, bytes, o, bytes.length - o);
  return bytes.length;
}

/** "cannot write FILE: ENOSPC (no space left on device)" */
function writeError(file: string, e: unknown): WriteError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code ? `${err.code} (${/^[A-Z]+: ([^,]*)/.exec(err.message)?.[1] ?? err.message})` : err.message;
  return new WriteError(`cannot write ${file}: ${why}`);
}

/** Write then rename, so a reader never sees half a file; a failed write leaves no temp file. */
async function writeAtomically(file: string, data: string | Uint8Array | Iterable<string>, stdout: NodeJS.WritableStream): Promise<void> {
  const chunks = typeof data === "string" || data instanceof Uint8Array ? [data] : data;
  if (file === "-") {
    for (const chunk of chunks) await new Promise<void>((done, fail) => stdout.write(chunk, (e) => (e ? fail(e) : done())));
    return;
  }
  // A device or a pipe (/dev/stdout, a FIFO) is written to, never replaced.
  const existing = await stat(file).catch(() => undefined);
  const direct = existing !== undefined && !existing.isFile();
  if (!direct) {
    await mkdir(dirname(resolve(file)), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      // mkdir -p says EEXIST when the directory's name is taken by a file.
      throw e.code === "EEXIST" ? new WriteError(`cannot write ${file}: ${dirname(file)} is a file, not a directory`) : writeError(file, e);
    });
  }
  // A fresh name, created exclusively: a link planted at a guessable name is never followed.
  const tmp = direct ? file : `${file}.tmp-${process.pid}-${randomHex()}`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, direct ? "w" : "wx");
    for (const chunk of chunks) writeAll(fd, chunk);
    closeSync(fd);
    fd = undefined;
    if (!direct) await rename(tmp, file);
  } catch (e) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* the write's error is the one to report */ }
    if (!direct) try { unlinkSync(tmp); } catch { /* never made */ }
    throw writeError(file, e);
  }
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
