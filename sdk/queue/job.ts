// A sweep point as a queue job, shared by the submitter (submit.ts) and the workers
// (worker.ts): what a job carries, the key it is stored under, and the URLs both sides
// are given. Imports no queue library: this much loads for checking flags alone.

import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Result } from "../result.js";
import { VERSION } from "../run.js";
import { ScenarioError } from "../scenario.js";

/** One queue per connsim version: a worker never takes a job another version planned. */
export const QUEUE_NAME = `connsim-${VERSION}`;

/** Tries a job gets before it is reported failed (a worker dying mid-run counts as one). */
export const ATTEMPTS = 3;

/** How long a finished point's result is kept in Redis for a resubmitted sweep to reuse. */
export const KEEP_SECONDS = 7 * 24 * 3600;

/** A plugin the scenario names by path, sent as its source so a worker runs exactly that file. */
export interface PluginSource { ref: string; source: string }

/** What a job carries: one grid point's scenario (the --vary values applied), its seed, its plugins. */
export interface SweepJob {
  scenario: unknown;
  seed?: number;
  plugins: PluginSource[];
  /** file:///dir where a result too large for Redis is written (--results). */
  results?: string;
  version: string;
}

/** The figures of a run without its series: what a sweep's table and JSON lines need. */
export type ResultSummary = Omit<Result, "series" | "traces">;

/** A job's return value: the whole result, or (above inlineLimit) its summary and where the rest went. */
export type JobReturn = { result: Result } | { summary: ResultSummary; ref?: string; bytes: number };

/** Results larger than this (bytes of JSON) stay out of Redis; CONNSIM_QUEUE_INLINE_BYTES changes it. */
export function inlineLimit(): number {
  const n = Number(process.env.CONNSIM_QUEUE_INLINE_BYTES);
  return Number.isInteger(n) && n >= 0 ? n : 1 << 20;
}

/** JSON with object keys sorted: the same value gives the same text whatever order its keys were written in. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
    : v));
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The job's id: a hash of the scenario, the seed, the connsim version and the plugins'
 * sources. The same point submitted twice is one job; changing any of these is another.
 */
export function jobKey(job: SweepJob): string {
  return sha256(stableJson({
    scenario: job.scenario, seed: job.seed ?? null, version: job.version,
    plugins: job.plugins.map((p) => [p.ref, sha256(p.source)]),
  }));
}

/** A Redis URL as ioredis takes it, and the same without a password for messages. */
export interface QueueTarget { shown: string; host: string; port: number; db: number; username?: string; password?: string; tls: boolean }

/** `redis://[user:pass@]host[:port][/db]` (rediss:// for TLS); a mistake is one line naming --queue. */
export function parseQueueUrl(text: string, flag = "--queue"): QueueTarget {
  const form = "expected redis://host:port[/db], e.g. redis://127.0.0.1:6379";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ScenarioError(`${flag} ${text}`, form);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new ScenarioError(`${flag} ${text}`, `${form} (rediss:// for TLS)`);
  if (!url.hostname) throw new ScenarioError(`${flag} ${text}`, `no host; ${form}`);
  const port = url.port ? Number(url.port) : 6379;
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) throw new ScenarioError(`${flag} ${text}`, `the database is a number, e.g. redis://127.0.0.1:6379/2, got "/${path}"`);
  if (url.search || url.hash) throw new ScenarioError(`${flag} ${text}`, `takes no query or fragment; ${form}`);
  const db = path === "" ? 0 : Number(path);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    shown: `${url.protocol}//${url.host}${path ? `/${db}` : ""}`, host, port, db, tls: url.protocol === "rediss:",
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** `--results file:///dir`: the directory, which every worker and the submitter must see (a shared mount). */
export function parseResultsUrl(text: string): string {
  if (!/^file:\/\//.test(text)) throw new ScenarioError(`--results ${text}`, "expected a directory as a file: URL, e.g. file:///mnt/shared/results");
  try {
    return fileURLToPath(text);
  } catch (e) {
    throw new ScenarioError(`--results ${text}`, `${(e as Error).message.split("\n")[0]}; expected file:///absolute/dir`);
  }
}

/** ioredis's connection options for a target. */
export function redisOptions(t: QueueTarget) {
  return {
    host: t.host, port: t.port, db: t.db, ...(t.tls ? { tls: {} } : {}),
    ...(t.username ? { username: t.username } : {}), ...(t.password ? { password: t.password } : {}),
  };
}

/** A job's milliseconds before a silent worker's job is taken back (CONNSIM_QUEUE_STALL_MS, default 30 s): tests shorten it. */
export function stallMs(): number {
  const n = Number(process.env.CONNSIM_QUEUE_STALL_MS);
  return Number.isInteger(n) && n >= 100 ? n : 30_000;
}
