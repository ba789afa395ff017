// `connsim run <scenario> [options]`: the CLI contract of DESIGN.md. User mistakes
// end with one line on stderr and exit code 2; engine failures with exit code 1.
// Arguments are parsed by node:util's parseArgs (built in, strict, no dependency).

import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { runScenario, type Progress } from "./run.js";
import type { Result } from "./result.js";
import { ScenarioError } from "./scenario.js";

const USAGE = `usage: connsim run <scenario.json|.js|.ts> [--workers N] [--json FILE] [--seed N] [--trace N] [--quiet]`;

class UsageError extends Error {}

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h") {
      if (command === undefined) {
        err.write(`${USAGE}\n`);
        return 2;
      }
      out.write(`${USAGE}\n`);
      return 0;
    }
    if (command !== "run") throw new UsageError(`unknown command "${command}"; ${USAGE}`);
    return await run(rest, out, err);
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
      },
    });
  } catch (e) {
    throw new UsageError(`${argsProblem(e as NodeJS.ErrnoException)}; ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one scenario file; ${USAGE}`);
  for (const later of ["csv", "html", "pcap"] as const) {
    if (values[later] !== undefined) throw new UsageError(`--${later} is not available in this version yet`);
  }
  const seed = intOption("--seed", values.seed);
  const trace = intOption("--trace", values.trace);
  const workers = intOption("--workers", values.workers);
  if (workers !== undefined && workers < 1) throw new UsageError("--workers must be 1 or more");

  const scenario = await loadScenario(positionals[0]);
  const showProgress = !values.quiet && (err as NodeJS.WriteStream).isTTY === true;
  const result = await runScenario(scenario, {
    seed, trace,
    onProgress: showProgress ? (p) => progressLine(err, p) : undefined,
  });
  if (showProgress) err.write("\r\x1b[K");
  if (values.json) await writeAtomically(values.json, JSON.stringify(result, null, 2) + "\n");
  if (!values.quiet) out.write(summary(result, values.json));
  if (result.error) {
    err.write(`connsim: run stopped early: ${result.error}\n`);
    return 1;
  }
  return 0;
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

/** Write then rename, so a reader never sees half a file. */
async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

function progressLine(err: NodeJS.WritableStream, p: Progress): void {
  const frac = p.duration > 0 ? Math.min(1, p.t / p.duration) : 1;
  const width = 30;
  const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
  err.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  t=${p.t.toFixed(1)}s  ${fmt(p.events)} events`);
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

export function summary(r: Result, jsonFile?: string): string {
  const f = r.totals.failed;
  const lines = [
    `${r.name} (profile ${r.profile}, seed ${r.seed})`,
    `  connections  attempted ${fmt(r.totals.attempted)}, established ${fmt(r.totals.established)}, completed ${fmt(r.totals.completed)}, pending ${fmt(r.totals.pending)}`,
    `  failed       EADDRNOTAVAIL ${fmt(f.EADDRNOTAVAIL)}, ECONNREFUSED ${fmt(f.ECONNREFUSED)}, ETIMEDOUT ${fmt(f.ETIMEDOUT)}, ECONNRESET ${fmt(f.ECONNRESET)}${f.EADDRINUSE ? `, EADDRINUSE ${fmt(f.EADDRINUSE)} (server bind)` : ""}`,
    `  segments     sent ${fmt(r.totals.segments.sent)}, dropped ${fmt(r.totals.segments.dropped)}, retransmitted ${fmt(r.totals.segments.retransmitted)}`,
    `  peak         ${Object.entries(r.peak).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`,
  ];
  const firstFail = r.series.failuresByErrno.EADDRNOTAVAIL.findIndex((v) => v > 0);
  if (firstFail >= 0) lines.push(`  first EADDRNOTAVAIL in the sample ending at t=${r.series.t[firstFail]}s`);
  lines.push(`  engine       ${fmt(r.engine.events)} events in ${r.engine.wallSeconds.toFixed(2)}s wall`);
  if (jsonFile) lines.push(`  wrote ${jsonFile}`);
  return lines.join("\n") + "\n";
}
