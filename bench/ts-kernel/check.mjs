// Checks that the TypeScript kernel is the engine: for each scenario below, the WASM
// engine (build/engine.wasm) and the TS kernel are configured from the same plan by
// the SDK's own `configure`, run in the same slices, and after every slice must
// agree on every counter (except MemoryBytes and SocketCapacity), on the simulated clock, and bytewise
// on the sample rows and trace records written during the slice.
//
//   node scripts/build.mjs && node bench/ts-kernel/check.mjs [--debug] [--slice N] [--wasm FILE]
//
// --debug also runs build/engine.debug.wasm (the engine's invariant assertions on);
// --wasm compares with another build of the engine instead of build/engine.wasm.
// Exits 1 on the first difference, naming the scenario, slice, and field.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { engineDrift, loadSdkInternals, loadTsKernel, newWasmEngine, ROOT } from "./load.mjs";

const args = process.argv.slice(2);
const debug = args.includes("--debug");
const sliceArg = args.indexOf("--slice");
const SLICE = sliceArg >= 0 ? Number(args[sliceArg + 1]) : 50_000;
const wasmArg = args.indexOf("--wasm");
const WASM_FILE = wasmArg >= 0 ? args[wasmArg + 1] : undefined;

export const SCENARIOS = {
  // The benchmark's workload, 1/10 of it: 100k connections, no failures.
  "churn-constant": {
    seed: 7, duration: "5.2s", sample: "100ms", profile: "linux", trace: 40,
    hosts: {
      client: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "2s" } },
      server: { ip: "10.0.0.2", listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "server"], latency: "500us" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 20000, arrival: "constant",
      request: 100, response: 1000, closer: "client", count: 100000 }],
  },
  // The same with Poisson arrivals (the workload's xorshift64* stream and -log(1-u)).
  "churn-poisson": {
    seed: 123456789012, duration: "5s", sample: "250ms", trace: 10,
    hosts: {
      client: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "2s" } },
      server: { ip: "10.0.0.2", listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "server"], latency: ["300us", "700us"] }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 20000, request: 100, response: 1000 }],
  },
  // examples/default.json: ephemeral-port exhaustion, EADDRNOTAVAIL after ~10 s.
  "port-exhaustion": { ...JSON.parse(readFileSync(join(ROOT, "examples", "default.json"), "utf8")), trace: 20 },
  // Loss, segmentation and retransmission: Bernoulli loss, large bodies (MSS
  // segments, window of 10, go-back-N), half-close, SO_LINGER 0, tw_reuse,
  // a small port range so TIME_WAIT tuples get reused.
  "lossy-bulk": {
    seed: 42, duration: "60s", sample: "1s", trace: 30,
    hosts: {
      client: { ip: ["10.0.0.1", "10.0.0.3"], ports: "40000-40199", tcp: { twReuse: 1, timeWait: "30s", rtoMin: "50ms" } },
      server: { ip: "10.0.0.2", listen: [{ port: 80 }, { port: 443, backlog: 8 }], tcp: { mss: 536 } },
    },
    links: [{ between: ["client", "server"], latency: ["2ms", "3ms"], loss: { plugin: "bernoulli", p: 0.03 } }],
    workloads: [
      { plugin: "tcp-churn", from: "client", to: "server:80", rate: 40, request: 30000, response: 200000, closer: "both", halfClose: true },
      { plugin: "tcp-churn", from: "client", to: "server:443", rate: 25, arrival: "constant", request: 2000, response: 0, closer: "server", linger0: true },
      { plugin: "tcp-churn", from: "client", to: "server:443", rate: 10, request: 0, response: 5000, closer: "server", start: "5s", stop: "40s" },
    ],
  },
  // Gilbert-Elliott bursts, staged drop/duplicate rules, a fixed local port, RFC 9293
  // profile (FIN_WAIT_2 forever, 240 s TIME_WAIT), a TIME_WAIT bucket limit, a
  // refused port (RST), a small backlog, three hosts.
  "rules-burst": {
    seed: 3, duration: "40s", sample: "500ms", profile: "rfc9293", trace: 60,
    hosts: {
      a: { ip: "10.0.1.1", ports: "50000-50999", tcp: { maxTwBuckets: 300, synRetries: 3 } },
      b: { ip: "10.0.1.2", listen: [{ port: 80, backlog: 4 }], tcp: { finTimeout: "5s" } },
      c: { ip: "10.0.1.3", listen: [{ port: 22 }], tcp: { synackRetries: 2 } },
    },
    links: [
      { between: ["a", "b"], latency: "1ms", loss: { plugin: "gilbert-elliott", p: 0.02, r: 0.3, k: 0.99, h: 0.2 } },
      { between: ["a", "c"], latency: "10ms", loss: { plugin: "drop", rules: [
        { from: "a", flags: "S", nth: 2 }, { from: "c", flags: "S.", conn: 5 }, { flags: "F.", state: "LAST_ACK", nth: 3 } ] } },
      { between: ["b", "c"], latency: "4ms", loss: { plugin: "delay-duplicate", rules: [
        { from: "b", flags: "S", delay: "300ms" }, { from: "c", flags: "P.", nth: 4, delay: "50ms" } ] } },
    ],
    workloads: [
      { plugin: "tcp-churn", from: "a", to: "b:80", rate: 150, request: 500, response: 40000, closer: "client" },
      { plugin: "tcp-churn", from: "a", to: "c:22", rate: 20, arrival: "constant", request: 100, response: 100, closer: "both" },
      { plugin: "tcp-churn", from: "b", to: "c:22", rate: 5, request: 3000, response: 3000, closer: "server", localPort: 6000 },
      { plugin: "tcp-churn", from: "a", to: "c:23", rate: 2, arrival: "constant", request: 10, response: 10 },
    ],
  },
  // A server that stops and restarts twice (EADDRINUSE while its TIME_WAIT holds the
  // port; then with SO_REUSEADDR on 443), clients refused meanwhile, accepted
  // connections closed by the stop.
  "server-restart": {
    seed: 5, duration: "150s", sample: "1s", trace: 40,
    hosts: {
      client: { ip: "10.0.2.1", ports: "30000-39999" },
      server: { ip: "10.0.2.2", listen: [{ port: 80, stop: "20s", start: "25s" },
        { port: 443, stop: "30.0005s", start: "31s", reuseAddr: true, bindRetry: "250ms" }] },
    },
    links: [{ between: ["client", "server"], latency: "20ms", loss: { plugin: "bernoulli", p: 0.01 } }],
    workloads: [
      { plugin: "tcp-churn", from: "client", to: "server:80", rate: 50, request: 200, response: 30000, closer: "server" },
      { plugin: "tcp-churn", from: "client", to: "server:443", rate: 30, request: 500, response: 500, closer: "client" },
    ],
  },
  // The RFC 6056 allocators: random (algorithm 1) and Linux's double hash (algorithm 3)
  // over small ranges with tw_reuse, so ports are searched, collide and are taken over.
  "port-allocators": {
    seed: 8, duration: "30s", sample: "500ms", trace: 30,
    hosts: {
      r: { ip: "10.0.3.1", ports: "40000-40299", portAllocator: "random", tcp: { timeWait: "5s" } },
      l: { ip: "10.0.3.2", ports: "40000-40301", portAllocator: "linux", reservedPorts: "40010-40029,40100", tcp: { timeWait: "5s", twReuse: 1 } },
      s: { ip: "10.0.3.9", listen: [{ port: 80 }, { port: 443 }] },
    },
    links: [{ between: ["r", "s"], latency: "2ms" }, { between: ["l", "s"], latency: "3ms", loss: { plugin: "bernoulli", p: 0.02 } }],
    workloads: [
      { plugin: "tcp-churn", from: "r", to: "s:80", rate: 80 },
      { plugin: "tcp-churn", from: "l", to: "s:80", rate: 90 },
      { plugin: "tcp-churn", from: "l", to: "s:443", rate: 40, closer: "server" },
    ],
  },
  // linux allocator with most of the range in TIME_WAIT (EADDRNOTAVAIL): to one destination
  // without tw_reuse (the engine skips held ports; the kernel looks each up), to two, and with tw_reuse.
  "linux-ports-held": {
    seed: 9, duration: "20s", sample: "500ms", trace: 40,
    hosts: {
      a: { ip: "10.0.5.1", ports: "40000-40599", portAllocator: "linux", tcp: { timeWait: "8s" } },
      b: { ip: "10.0.5.2", ports: "40000-40599", portAllocator: "linux", tcp: { timeWait: "8s" } },
      c: { ip: "10.0.5.3", ports: "40000-40599", portAllocator: "linux", tcp: { timeWait: "8s", twReuse: 1 } },
      s: { ip: "10.0.5.9", listen: [{ port: 80 }, { port: 443 }] },
    },
    links: [{ between: ["a", "s"], latency: "1ms" }, { between: ["b", "s"], latency: "1ms" }, { between: ["c", "s"], latency: "1ms" }],
    workloads: [
      { plugin: "tcp-churn", from: "a", to: "s:80", rate: 100 },
      { plugin: "tcp-churn", from: "b", to: "s:80", rate: 80 },
      { plugin: "tcp-churn", from: "b", to: "s:443", rate: 30, start: "3s", stop: "6s" },
      { plugin: "tcp-churn", from: "c", to: "s:80", rate: 100 },
    ],
  },
  // Closed-loop clients and sizes drawn per connection (uniform, exponential).
  "closed-loop-sizes": {
    seed: 21, duration: "20s", sample: "250ms", trace: 20,
    hosts: {
      c: { ip: "10.0.4.1", ports: "20000-20999", tcp: { timeWait: "3s" } },
      s: { ip: "10.0.4.2", listen: [{ port: 80, backlog: 16 }] },
    },
    links: [{ between: ["c", "s"], latency: "4ms", loss: { plugin: "bernoulli", p: 0.03 } }],
    workloads: [
      { plugin: "closed-loop", from: "c", to: "s:81", clients: 30, think: "20ms", backoff: "10ms", backoffMax: "2s" },
      { plugin: "closed-loop", from: "c", to: "s:80", clients: 40, think: "50ms",
        request: { dist: "uniform", min: 100, max: 5000 }, response: { dist: "exponential", mean: 20000 } },
      { plugin: "tcp-churn", from: "c", to: "s:80", rate: 30, response: { dist: "uniform", min: 0, max: 3000 }, closer: "server" },
      { plugin: "keepalive-pool", from: "c", to: "s:80", connections: 8, requests: 40, request: 300, response: 9000, think: "20ms", closer: "both" },
    ],
  },
  // A clock past 2^31 and 2^32 us (the wheel's int32 fast paths end at 2^31 us = 35.8 min;
  // u64 times above 2^32 us = 71.6 min): arrivals from minute 70 to 76, long timers.
  "long-clock": {
    seed: 99, duration: "76m", sample: "1m", profile: "rfc9293", trace: 25,
    hosts: {
      client: { ip: "192.168.0.1", ports: "49152-49999", tcp: { rtoMax: "200s", synRetries: 8 } },
      server: { ip: "192.168.0.2", listen: [{ port: 8080 }] },
    },
    links: [{ between: ["client", "server"], latency: "40ms", loss: { plugin: "bernoulli", p: 0.05 } }],
    workloads: [
      { plugin: "tcp-churn", from: "client", to: "server:8080", rate: 15, request: 5000, response: 20000, start: "70m", stop: "75m" },
      { plugin: "tcp-churn", from: "client", to: "server:8080", rate: 0.01, arrival: "constant", request: 1, response: 1, closer: "server" },
    ],
  },
};

/**
 * Every counter the engine keeps except MemoryBytes and SocketCapacity (linear memory vs
 * typed arrays, and the engine moves TIME_WAIT sockets out of their slots: layout, not behaviour).
 */
const counted = (Stat) => Object.keys(Stat).filter((k) => Number.isNaN(Number(k)) && k !== "COUNT" && k !== "MemoryBytes" && k !== "SocketCapacity");

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs one plan on both; returns the final totals or throws with the first difference. */
export async function compare(name, scenario, { sdk, ts, flavour = "release", slice = SLICE, file = undefined }) {
  const Stat = sdk.Stat;
  const { TraceField } = sdk;
  const COUNTED = counted(Stat);
  const plan = sdk.planScenario(scenario);
  const w = await newWasmEngine(sdk, flavour, file);
  sdk.configure(w, plan);
  sdk.configure(ts, plan);
  const words = w.sampleRowWords();
  if (words !== ts.sampleRowWords()) throw new Error(`${name}: sample row width ${words} vs ${ts.sampleRowWords()}`);
  let slices = 0, rows = 0, records = 0;
  while (true) {
    const mw = w.run(slice);
    const mt = ts.run(slice);
    slices++;
    const where = `${name} [${flavour}] slice ${slices} (t=${w.nowUs()}us)`;
    for (const k of COUNTED) {
      const a = w.stat(Stat[k]), b = ts.stat(Stat[k]);
      if (a !== b) throw new Error(`${where}: ${k} wasm=${a} ts=${b}`);
    }
    if (w.nowUs() !== ts.nowUs()) throw new Error(`${where}: now wasm=${w.nowUs()} ts=${ts.nowUs()}`);
    if (mw !== mt) throw new Error(`${where}: run() returned wasm=${mw} ts=${mt}`);
    const n = w.samplesCount();
    if (n !== ts.samplesCount()) throw new Error(`${where}: sample rows wasm=${n} ts=${ts.samplesCount()}`);
    const sw = new Uint32Array(w.memory.buffer, w.samplesPtr(), n * words);
    if (!bytesEqual(sw, ts.samplesView())) {
      const sv = ts.samplesView();
      const i = sw.findIndex((v, j) => v !== sv[j]);
      throw new Error(`${where}: sample word ${i} (row ${Math.floor(i / words)}, col ${i % words}) wasm=${sw[i]} ts=${sv[i]}`);
    }
    const tn = w.traceCount();
    if (tn !== ts.traceCount()) throw new Error(`${where}: trace records wasm=${tn} ts=${ts.traceCount()}`);
    const tw = new Uint8Array(w.memory.buffer, w.tracePtr(), tn * TraceField.SIZE);
    if (!bytesEqual(tw, ts.traceView())) {
      const tv = ts.traceView();
      const i = tw.findIndex((v, j) => v !== tv[j]);
      throw new Error(`${where}: trace record ${Math.floor(i / TraceField.SIZE)} byte ${i % TraceField.SIZE} wasm=${tw[i]} ts=${tv[i]}`);
    }
    rows += n; records += tn;
    w.drainSamples(); ts.drainSamples(); w.drainTrace(); ts.drainTrace();
    if (!mw) break;
  }
  const totals = Object.fromEntries(COUNTED.map((k) => [k, w.stat(Stat[k])]));
  return { totals, slices, rows, records, memoryBytes: w.stat(Stat.MemoryBytes) };
}

async function main() {
  const { statSync, readdirSync } = await import("node:fs");
  const newestSource = Math.max(...readdirSync(join(ROOT, "assembly")).map((f) => statSync(join(ROOT, "assembly", f)).mtimeMs));
  if (!WASM_FILE && statSync(join(ROOT, "build", "engine.wasm")).mtimeMs < newestSource) {
    console.warn("note: build/engine.wasm is older than assembly/: run node scripts/build.mjs first");
  }
  const drift = await engineDrift();
  if (drift.length) console.warn(`note: assembly/ has changed since the port (${drift.join(", ")}); a difference may be the port being behind`);
  const [sdk, ts] = await Promise.all([loadSdkInternals(), loadTsKernel()]);
  const flavours = debug ? ["release", "debug"] : ["release"];
  const cols = [
    ["Events", "events"], ["SegmentEvents", "seg.events"], ["Attempted", "attempted"], ["Established", "established"],
    ["Completed", "completed"], ["EADDRNOTAVAIL", "EADDRNOTAVAIL"], ["ECONNREFUSED", "ECONNREFUSED"], ["ETIMEDOUT", "ETIMEDOUT"],
    ["ECONNRESET", "ECONNRESET"], ["SegSent", "seg.sent"], ["SegDropped", "dropped"], ["SegRetransmitted", "retrans"],
    ["SegDuplicated", "dup"],
  ];
  const head = ["scenario", "engine", ...cols.map((c) => c[1]), "rows", "trace", "slices", "same"];
  const lines = [head];
  let failed = false;
  for (const [name, sc] of Object.entries(SCENARIOS)) {
    for (const flavour of flavours) {
      try {
        const r = await compare(name, sc, { sdk, ts, flavour, file: flavour === "release" ? WASM_FILE : undefined });
        lines.push([name, flavour, ...cols.map(([k]) => String(r.totals[k])), String(r.rows), String(r.records), String(r.slices), "yes"]);
      } catch (err) {
        failed = true;
        console.error(`DIFFERENT: ${err.message}`);
        lines.push([name, flavour, ...cols.map(() => "-"), "-", "-", "-", "NO"]);
      }
    }
  }
  const width = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log(l.map((c, i) => (i < 2 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  "));
  console.log(failed ? "check: the TS kernel and the engine DIFFER" :
    `check: identical counters, clock, sample rows and trace records after every slice of ${SLICE} events (${Object.keys(SCENARIOS).length} scenarios)`);
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
