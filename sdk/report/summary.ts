// The one-screen summary the CLI prints at the end of a run: totals, peaks, and for a
// client that closes first (so TIME_WAIT sits on it) the study figures beside their
// analytic values, so a newcomer sees what port exhaustion is in numbers:
//   capacity = ports / TIME_WAIT          connections a second the client sustains in the long run
//   plateau  = min(rate, capacity) x TIME_WAIT   sockets in TIME_WAIT (Little's law)
//   first EADDRNOTAVAIL at ports / rate   when the rate is above capacity
// with TIME_WAIT as the kernel's timer wheel makes it (profiles.ts wheelTimer): on Linux
// at 250 Hz a 60 s TIME_WAIT lasts 61.02 s on average, and a port taken again as soon as
// it is free comes back every 61.44 s.

import type { Result } from "../result.js";
import type { Plan } from "../scenario.js";
import { wheelTimer } from "../profiles.js";
import { visible } from "../units.js";
import type { CheckOutcome } from "../expect.js";

export function summary(r: Result, plan?: Plan, wrote: string[] = [], checks: CheckOutcome[] = []): string {
  const f = r.totals.failed;
  const simulated = r.engine.simulatedSeconds;
  const lines = [
    `${r.name} (profile ${r.profile}, seed ${r.seed})`,
    // Stopped early (Ctrl-C, a failed plugin): every figure below is for the time simulated.
    ...(r.error && plan ? [`  stopped      at t=${num(simulated)} s of ${num(plan.duration / 1e6)} s (${r.error}); the figures are for the time simulated`] : []),
    `  connections  attempted ${fmt(r.totals.attempted)}, established ${fmt(r.totals.established)}, completed ${fmt(r.totals.completed)}, pending ${fmt(r.totals.pending)}${r.totals.timeWaitReused ? `, ${fmt(r.totals.timeWaitReused)} took over a TIME_WAIT tuple` : ""}`,
    `  failed       EADDRNOTAVAIL ${fmt(f.EADDRNOTAVAIL)}, ECONNREFUSED ${fmt(f.ECONNREFUSED)}, ETIMEDOUT ${fmt(f.ETIMEDOUT)}, ECONNRESET ${fmt(f.ECONNRESET)}${f.EADDRINUSE ? `, EADDRINUSE ${fmt(f.EADDRINUSE)} (server bind)` : ""}`,
    `  segments     sent ${fmt(r.totals.segments.sent)}, dropped ${fmt(r.totals.segments.dropped)}, retransmitted ${fmt(r.totals.segments.retransmitted)}${r.totals.segments.pawsRejected ? `, ${fmt(r.totals.segments.pawsRejected)} refused by PAWS (older timestamp)` : ""}`,
    `  peak         ${Object.entries(r.peak).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v)}`).join(", ") || "no TCP sockets"}`,
  ];
  for (const [name, f] of Object.entries(r.fleets ?? {})) {
    lines.push(`  fleet        ${name}: ${fmt(f.hosts)} hosts, summed in the series; most ports in use: ${f.busiest.map((b) => `${b.host} ${fmt(b.peakPortsInUse)}`).join(", ")}`);
  }
  const udp = Object.entries(r.series.udpSockets).map(([h, v]) => [h, v.reduce((m, x) => Math.max(m, x), 0)] as const).filter(([, m]) => m > 0);
  if (udp.length) lines.push(`  udp          sockets open at most: ${udp.map(([h, m]) => `${h} ${fmt(m)}`).join(", ")}`);
  lines.push(...cappedLines(r, plan));
  const queues = listenLines(r, plan);
  lines.push(...queues);
  // The port study's model has a server that keeps up and a TIME_WAIT for every port:
  // not when queues turned connections away or tcp_max_tw_buckets closed sockets early.
  const study = plan && queues.length === 0 && !r.totals.timeWaitOverflow ? portStudy(r, plan) : undefined;
  if (study) lines.push(...study);
  else {
    const first = firstFailure(r);
    if (first !== undefined) lines.push(`  first EADDRNOTAVAIL in the sample ending at t=${first}s`);
  }
  lines.push(...natLines(r));
  lines.push(...whyLines(r));
  lines.push(`  engine       ${fmt(r.engine.events)} events in ${r.engine.wallSeconds.toFixed(2)}s wall`);
  const split = r.engine.split;
  if (split) lines.push(`  split        over ${r.engine.workers} workers in step: ${fmt(split.windows)} windows of up to ${fmt(split.lookaheadUs)} us (the smallest latency between parts), ${fmt(split.crossingSegments)} segments crossed`);
  const width = Math.max(0, ...checks.map((c) => c.text.length));
  checks.forEach((c, i) => lines.push(`  ${(i ? "" : "checks").padEnd(13)}${(c.held ? "held" : "failed").padEnd(8)}${c.text.padEnd(width)}  (${Number.isNaN(c.actual) ? "no value" : fmt(c.actual)})`));
  for (const file of wrote) lines.push(`  wrote ${file}`);
  return lines.map((l) => visible(l)).join("\n") + "\n"; // names and paths are the user's: no raw control characters
}

/** A "why" study's counters (docs/why.md), and which hosts leave which mechanisms out. */
function whyLines(r: Result): string[] {
  const w = r.totals.why;
  if (!w) return [];
  const variants = Object.entries(r.variants ?? {}).map(([h, v]) => `${h} ${v.join("+")}`).join(", ") || "none (standard TCP)";
  const held = w.unwanted ? `held ${num(w.unwantedHeldSeconds)} s, ${num(w.unwantedHeldSeconds / w.unwanted)} s each, ` : "";
  return [
    `  variants     ${variants}`,
    `  why          unwanted server connections ${fmt(w.unwanted)} (${held}${fmt(w.falselyEstablished)} taken for established), deadlocks ${fmt(w.deadlocks)}, never closed ${fmt(w.neverClosed)}`,
    `               old incarnation's data accepted ${fmt(w.staleAccepted)}, LAST_ACK FIN retries ${fmt(w.lastAckFinRetries)}, passive closer reset ${fmt(w.passiveResets)}, closed early ${fmt(w.closedEarly)}`,
  ];
}

/**
 * Every kernel cap that changed the answer, with how often it did (the project rule: a cap
 * that changes the answer is named in the summary). One entry per cap; a new cap (a
 * conntrack table, say) is one more entry.
 */
const CAPS: { counted: (r: Result) => number; says: (count: string, r: Result, plan?: Plan) => string }[] = [
  {
    counted: (r) => r.totals.timeWaitOverflow,
    says: (n, r, plan) => {
      // A fleet's series is its hosts' sum, so a fleet is named when the sum reached its hosts' cap.
      const full = new Map<string, number>();
      for (const h of plan?.hosts ?? []) {
        const name = h.fleet ?? h.name;
        if (Math.max(0, ...(r.series.byHost[name]?.TIME_WAIT ?? [])) >= h.tcp.maxTwBuckets) full.set(h.fleet ? `${name} (each host)` : name, h.tcp.maxTwBuckets);
      }
      const where = [...full].map(([name, cap]) => ` ${fmt(cap)} on ${name}`).join(",");
      return `tcp_max_tw_buckets${where}: ${n} sockets closed at once instead of entering TIME_WAIT (TCPTimeWaitOverflow)`;
    },
  },
  { counted: (r) => r.totals.listen?.ListenOverflows ?? 0, says: (n) => `accept queue full: ${n} SYNs and handshake ACKs dropped or reset (ListenOverflows); the listen lines say which queue` },
  {
    counted: (r) => (r.totals.listen?.ListenDrops ?? 0) - (r.totals.listen?.ListenOverflows ?? 0),
    says: (n) => `SYN queue full without cookies: ${n} SYNs dropped (ListenDrops beyond ListenOverflows)`,
  },
];

function cappedLines(r: Result, plan?: Plan): string[] {
  return CAPS.filter((c) => c.counted(r) > 0).map((c, i) => `  ${(i ? "" : "capped").padEnd(13)}${c.says(fmt(c.counted(r)), r, plan)}`);
}

/**
 * netstat's listen counters when any is non-zero, and the cap behind them per server host
 * (the project rule: a cap that changes the answer is named): the accept queue holds
 * min(backlog, somaxconn) + 1 children, as Linux counts; a full SYN queue (as many
 * half-open) answers with cookies or drops SYNs.
 */
function listenLines(r: Result, plan?: Plan): string[] {
  const c = r.totals.listen;
  if (!c || Object.values(c).every((v) => v === 0)) return [];
  const lines = [`  listen       ${Object.entries(c).filter(([k, v]) => v > 0 || k === "ListenOverflows" || k === "ListenDrops").map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`];
  // A fleet's hosts are configured alike and reported as one: its first host stands for them.
  for (const h of (plan?.hosts ?? []).filter((x, i, all) => x.fleet === undefined || all[i - 1]?.fleet !== x.fleet)) {
    const name = h.fleet ?? h.name;
    const peakAccept = Math.max(0, ...(r.series.acceptQueue[name] ?? []));
    const peakSyn = Math.max(0, ...(r.series.synQueue[name] ?? []));
    for (const l of h.listen.filter((x) => x.protocol === "tcp")) {
      const most = Math.min(l.backlog, h.tcp.somaxconn);
      const cap = l.backlog > h.tcp.somaxconn ? `somaxconn ${fmt(h.tcp.somaxconn)} (caps backlog ${fmt(l.backlog)})` : `backlog ${fmt(l.backlog)}`;
      const accept = l.acceptInterval > 0 ? `accept() ${num(1e6 / l.acceptInterval)}/s, ` : "";
      const cookies = h.tcp.syncookies === 0 ? "SYNs dropped when full (tcp_syncookies 0)" : h.tcp.syncookies === 2 ? "SYN cookies always (tcp_syncookies 2)" : "SYN cookies when full (tcp_syncookies 1)";
      const overflow = h.tcp.abortOnOverflow ? "reset (tcp_abort_on_overflow 1)" : "SYN and last ACK dropped";
      lines.push(`    ${h.fleet ? `${h.fleet} (each)` : h.name}:${l.port}  ${accept}${cap}: accept queue ${fmt(most + 1)} (peak ${fmt(peakAccept)}), full: ${overflow}; SYN queue ${fmt(most)} (peak ${fmt(peakSyn)}), ${cookies}`);
    }
  }
  return lines;
}

/** The end of the first sample interval with an EADDRNOTAVAIL, seconds. */
function firstFailure(r: Result): number | undefined {
  const i = r.series.failuresByErrno.EADDRNOTAVAIL.findIndex((v) => v > 0);
  return i >= 0 ? r.series.t[i] : undefined;
}

/**
 * The study lines when the model above applies: every workload comes from one client
 * host, the client closes first (or both do), and tw_reuse is off for it (with it,
 * TIME_WAIT tuples are taken over after 1 s and capacity is another formula).
 */
function portStudy(r: Result, plan: Plan): string[] | undefined {
  const ws = plan.workloads;
  if (ws.length === 0 || ws.some((w) => w.from !== ws[0].from || w.destinations || w.source !== "first" || w.portAt !== "connect" || w.path.length > 2 || w.hold > 0 || w.closer === "server" || w.localPort !== 0 || w.clients > 0 || w.step > 0 || w.model === "udp" || w.hook)) return undefined;
  const host = plan.hosts.find((h) => h.name === ws[0].from)!;
  if (host.tcp.twReuse === 1 || (host.tcp.twReuse === 2 && (host.ips[0] >>> 24) === 127)) return undefined;
  const ports = host.ports[1] - host.ports[0] + 1;
  const wheel = wheelTimer(host.tcp.timeWait, host.tcp.hz);
  const tw = wheel.cycle; // a port's TIME_WAIT when it is taken again as soon as it is free
  const duration = r.engine.simulatedSeconds ?? plan.duration / 1e6; // less than the scenario's when the run stopped early (Ctrl-C)
  const rate = ws.reduce((sum, w) => sum + w.rate, 0);
  const capacity = ports / tw;
  // Connections established per second while connect() calls were being made.
  const calling = Math.max(...ws.map((w) => Math.min(duration, w.stop ? w.stop / 1e6 : Infinity,
    w.count ? w.start / 1e6 + w.count / w.rate : Infinity) - w.start / 1e6));
  if (!(calling > 0)) return undefined;
  const achieved = r.totals.established / calling;
  // Above capacity the ports fill in a burst at the offered rate, then wait for the
  // first TIME_WAIT to end: `ports` connections per TIME_WAIT window, and the window
  // may end mid-burst. The long-run rate is ports / TIME_WAIT.
  const windows = Math.floor(calling / tw);
  const expected = rate > capacity ? windows * ports + Math.min(ports, rate * (calling - windows * tw)) : rate * calling;
  const plateau = Math.max(...(r.series.byHost[host.name]?.TIME_WAIT ?? [0]));
  const first = firstFailure(r);
  // The model has a server that answers: when none did, say why beside its figures.
  const unanswered = r.totals.established === 0 && r.totals.attempted > 0
    ? r.totals.failed.ECONNREFUSED > 0 ? `none established: ${fmt(r.totals.failed.ECONNREFUSED)} refused (ECONNREFUSED), nothing listens on ${ws[0].to}:${ws[0].dstPort}`
      : r.totals.failed.ETIMEDOUT > 0 ? `none established: ${fmt(r.totals.failed.ETIMEDOUT)} unanswered (ETIMEDOUT)` : undefined
    : undefined;
  const row = (what: string, simulated: string, analytic = "", why = "") =>
    `    ${what.padEnd(21)}${simulated.padEnd(12)}${analytic.padEnd(10)}${why}`.trimEnd();
  const lines = [
    `  ${host.name.padEnd(12)} ${fmt(ports)} ephemeral ports, TIME_WAIT ${num(host.tcp.timeWait / 1e6)} s${host.tcp.hz ? ` (${wheel.mean.toFixed(2)} s on average, a port every ${wheel.cycle.toFixed(2)} s on the ${host.tcp.hz} Hz timer wheel)` : ""}, offered ${num(rate)} connections/s`,
    row("", "simulated", "analytic"),
    row("connections/s", num(achieved), num(expected / calling), unanswered ?? (rate > capacity ? "ports per TIME_WAIT, in bursts" : "the offered rate")),
    // Sockets closed within the last TIME_WAIT are in it: at most `ports`, fewer when calls stopped sooner.
    row("TIME_WAIT plateau", fmt(plateau), fmt(Math.round(Math.min(ports, rate * Math.min(wheel.mean, calling)))), "min(ports, rate x TIME_WAIT)"),
    row("first EADDRNOTAVAIL", first === undefined ? "none" : `by ${num(first)} s`,
      rate > capacity ? `${num(ports / rate)} s` : "none", rate > capacity ? "ports / rate" : "rate below ports / TIME_WAIT"),
  ];
  return lines;
}

/**
 * Per NAT host: its conntrack peak, drops, and what it sustains with the limit that
 * binds (NatCapacity): ports x addresses x destinations / hold, or max / lifetime; a
 * limit the run met (flows dropped for it) is named as the cap that changed the answer.
 */
function natLines(r: Result): string[] {
  const lines: string[] = [];
  for (const [host, n] of Object.entries(r.nats ?? {})) {
    const t = n.totals;
    const states = Object.entries(n.peak.states).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
    const preset = n.preset ? ` (${n.preset}${n.portsPerHost ? `, ${fmt(n.portsPerHost)} ports per inside host` : ""})` : n.portsPerHost ? ` (${fmt(n.portsPerHost)} ports per inside host)` : "";
    lines.push(`  nat ${host.padEnd(8)} ${n.addresses.join(", ")} ports ${n.ports[0]}-${n.ports[1]}${preset}: ${fmt(t.created)} flows, conntrack peak ${fmt(n.peak.entries)} of ${fmt(n.max)}${states ? ` (${states})` : ""}`);
    lines.push(`    dropped      ${fmt(t.insertFailed)} no free tuple (insert_failed), ${fmt(t.tableFull)} table full, ${fmt(t.invalid)} invalid; ${fmt(t.takeovers)} TIME_WAIT/CLOSE entries taken over${t.resets ? `; ${fmt(t.resets)} RSTs for flows it had dropped (idle timeout)` : ""}`);
    if (n.insideHosts.length > 1) lines.push(`    most held by ${n.insideHosts.slice(0, 5).map((x) => `${x.host} ${fmt(x.peak)}`).join(", ")}`);
    const c = n.capacity;
    if (!c) continue;
    const lim = (x: number | null) => (x === null ? "unbounded" : `${num(x)}/s`);
    const blocks = n.blockHosts ?? 0;
    const ports = n.portsPerHost ? `ports ${fmt(n.portsPerHost)} per inside host x ${fmt(blocks)} host${blocks > 1 ? "s" : ""}` : `ports ${fmt(n.ports[1] - n.ports[0] + 1)} x ${n.addresses.length} address${n.addresses.length > 1 ? "es" : ""}`;
    lines.push(`    sustains     ${lim(c.sustainable)} (made ${num(c.rate)}/s): ${ports} x ${c.destinations} destination${c.destinations > 1 ? "s" : ""} / ${num(c.holdSeconds)} s held = ${lim(c.portsLimit)}; table ${fmt(n.max)} / ${num(c.lifetimeSeconds)} s = ${lim(c.tableLimit)}`);
    lines.push(`    binds        ${c.binds}${c.reached ? ` (the cap that changed the answer: ${c.binds === "table size" ? `${fmt(t.tableFull)} flows dropped, table full` : `${fmt(t.insertFailed)} SYNs or datagrams dropped, no free tuple${n.portsPerHost ? ` in an inside host's ${fmt(n.portsPerHost)}-port block` : ""}`})` : " (not reached)"}`);
  }
  return lines;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

/** A rate or time with three significant digits at most. */
function num(x: number): string {
  return Number(x.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 2 });
}
