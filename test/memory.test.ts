// Memory per live connection (issue 19): a connection in TIME_WAIT moves out of its socket
// slot into a compact entry (assembly/sockets.ts), so a worker holds millions of them; a
// scenario whose live connections cannot fit is refused before it runs, naming its
// estimate; one that runs out anyway says how far it got. The exact figures are in
// bench/memory.mjs; the bounds here are generous and nothing is timed.
// Needs the build (build/engine.wasm), as `npm test` does.

import { expect, test } from "vitest";
import { runScenario, type Scenario } from "../sdk/index.js";
import { estimateLive, OPEN_CONNECTION_BYTES, TIME_WAIT_BYTES } from "../sdk/limits.js";
import { planScenario } from "../sdk/scenario.js";

/** `n` connections end in TIME_WAIT on the client (its TIME_WAIT outlasts the run), over `d` server ports so the tuples never repeat. */
function holding(n: number, d: number, rate = 200_000): Scenario {
  const listen = Array.from({ length: d }, (_, i) => ({ port: 10000 + i }));
  return {
    duration: `${n / rate + 1}s`, sample: "1s",
    hosts: {
      client: { ip: "10.0.0.1", ports: "1024-65535", portAllocator: "sequential", tcp: { timeWait: "3600s", maxTwBuckets: 100_000_000 } },
      server: { ip: "10.0.0.2", listen },
    },
    links: [{ between: ["client", "server"], latency: "500us" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: listen.map((l) => `server:${l.port}`), rate, arrival: "constant", count: n }],
  };
}

test("200,000 connections in TIME_WAIT take under 180 bytes each of engine memory, everything counted", async () => {
  const r = await runScenario(holding(200_000, 5));
  expect(r.error).toBeUndefined();
  expect(r.totals.completed).toBe(200_000);
  expect(r.peak.TIME_WAIT).toBe(200_000);
  // A socket slot alone is 80 bytes; before the compact TIME_WAIT table this was over 300.
  expect(r.engine.memoryBytes / 200_000).toBeLessThan(180);
});

test("the estimate of live connections follows Little's law and its bounds", () => {
  // 200,000/s for 100 s, TIME_WAIT longer than the run: every connection is still there.
  expect(estimateLive(planScenario(holding(20_000_000, 321)))).toMatchObject({ timeWait: 20_000_000, open: 0 });
  // TIME_WAIT 60 s at 1,000/s: 60,000 live, whatever the run's length.
  const s = holding(1_000_000, 3, 1000);
  (s.hosts.client as { tcp: { timeWait: string } }).tcp.timeWait = "60s";
  expect(estimateLive(planScenario(s)).timeWait).toBe(60_000);
  // Bounded by the tuples the ports reach (64,512 ports x 1 destination), and by tcp_max_tw_buckets.
  expect(estimateLive(planScenario(holding(1_000_000, 1))).timeWait).toBe(64_512);
  (s.hosts.client as { tcp: { maxTwBuckets: number } }).tcp.maxTwBuckets = 5000;
  expect(estimateLive(planScenario(s)).timeWait).toBe(5000);
});

test("a scenario whose live connections cannot fit is refused before it runs, naming its estimate and the ways out", async () => {
  const s = holding(20_000_000, 321);
  await expect(runScenario(s, { memoryLimit: 2 ** 30 })).rejects.toThrow(
    `scenario.workloads: about 20.0 M connections live at once (rate x time held, Little's law: 20.0 M in TIME_WAIT at ${TIME_WAIT_BYTES} B, 0 open at ${OPEN_CONNECTION_BYTES} B) `
    + "need about 1.59 GiB of engine memory; memoryLimit is 1.00 GiB: raise it, split the scenario over workers (host groups that no link joins run in separate workers), or lower the rate or the TIME_WAIT");
  // 60 M is past what WebAssembly gives one engine.
  await expect(runScenario(holding(60_000_000, 1000, 600_000))).rejects.toThrow(
    /^scenario\.workloads: about 60\.0 M connections live at once .* need about 4\.7\d GiB of engine memory; WebAssembly gives an engine 4\.00 GiB: split the scenario over workers/);
});

test("a run that runs out of memory anyway says when, how many sockets it held, and what a connection costs, and keeps its samples", async () => {
  // A closed loop has no rate to estimate by: it runs until the limit stops it.
  const r = await runScenario({
    duration: "30s", sample: "100ms",
    hosts: { c: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "60s" } }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["c", "s"], latency: "1ms" }],
    workloads: [{ plugin: "closed-loop", from: "c", to: "s:80", clients: 40, think: "2ms" }],
  }, { memoryLimit: 7 * 2 ** 20, sliceEvents: 20_000 });
  expect(r.error).toMatch(new RegExp(
    "^the engine reached its memory limit \\(7 MB\\) at t=[\\d.]+s; the samples so far are kept\\. It held [\\d,]+ live sockets; "
    + `a connection takes about ${TIME_WAIT_BYTES} B in TIME_WAIT and ${OPEN_CONNECTION_BYTES} B open: raise memoryLimit; `
    + "fewer live connections \\(a lower rate or a shorter TIME_WAIT\\) need less, or split the scenario over workers$"));
  const held = Number(/It held ([\d,]+) live sockets/.exec(r.error!)![1].replace(/,/g, ""));
  expect(held).toBeGreaterThan(20_000);
  // The samples up to the stop are kept.
  expect(r.series.t.length).toBeGreaterThan(5);
  expect(r.series.t.length).toBeLessThan(300);
  expect(r.series.states.TIME_WAIT.at(-1)).toBeGreaterThan(20_000);
});
