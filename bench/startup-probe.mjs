// Loaded with `node --import ./bench/startup-probe.mjs bin/connsim.mjs ...` by
// bench/startup.mjs: notes when the engine's first run() call comes (the first event),
// in ms since the process started (performance.now()), and the CPU time by then and at
// exit (all threads), as JSON in the file STARTUP_PROBE_OUT names. It also notes when it
// was itself evaluated (cliStartMs): --import modules run after Node's own start and
// just before Node loads the main module, so that instant is "the CLI starting", and
// everything from there to the first event is connsim's (loading bin/connsim.mjs and its
// bundle, validation, the engine's compile). Changes nothing else: the engine's
// exports are copied as instantiateEngine copies them, run() wrapped.
import { writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

// Worker threads inherit --import: they leave the notes to the main thread.
const out = isMainThread ? process.env.STARTUP_PROBE_OUT : undefined;
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const seen = { cliStartMs: performance.now(), cliStartCpuMs: cpuMs() };
const instantiate = WebAssembly.instantiate;
if (isMainThread) WebAssembly.instantiate = async function (...args) {
  const made = await instantiate.apply(this, args);
  const instance = made instanceof WebAssembly.Instance ? made : made.instance;
  if (typeof instance.exports.run !== "function") return made;
  const exports = { ...instance.exports };
  const run = exports.run;
  exports.run = (...a) => {
    if (seen.firstEventMs === undefined) { seen.firstEventMs = performance.now(); seen.firstEventCpuMs = cpuMs(); }
    return run(...a);
  };
  const wrapped = { exports };
  return made instanceof WebAssembly.Instance ? wrapped : { module: made.module, instance: wrapped };
};
if (isMainThread) process.on("exit", () => {
  seen.exitMs = performance.now();
  seen.exitCpuMs = cpuMs();
  if (out) writeFileSync(out, JSON.stringify(seen));
});
