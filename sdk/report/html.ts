// `--html FILE`: one self-contained page (data, chart code and CSS inlined; no network)
// that shows a study. The charts are drawn in the browser by web/report.ts, bundled
// to dist/report.js and dist/report.css by scripts/build.mjs.

import type { Result } from "../result.js";
import type { Plan } from "../scenario.js";
import { jsonChunks } from "./json.js";

/**
 * The HTML report of a run. `scenario` is shown as JSON as given; `hostRanges` maps a host
 * name to the number of ephemeral ports it may use (the line its ports-in-use chart is
 * drawn against; reportRanges). The public htmlReport (outputs.ts) finds them itself.
 */
export async function htmlPage(result: Result, scenario: unknown, hostRanges: Record<string, number>): Promise<string> {
  return [...await htmlReportPieces(result, scenario, hostRanges)].join("");
}

/**
 * The ephemeral range of each host that opens connections (where connect() picks ports), in
 * ports; a fleet, as its series, counts its hosts' ranges together.
 */
export function reportRanges(plan: Plan): Record<string, number> {
  const ranges: Record<string, number> = {};
  for (const h of plan.hosts) {
    if (!plan.workloads.some((w) => w.from === h.name)) continue;
    const name = h.fleet ?? h.name;
    ranges[name] = (ranges[name] ?? 0) + h.ports[1] - h.ports[0] + 1;
  }
  return ranges;
}

/**
 * The same page in pieces, for writing: the data, the scenario and its free text
 * (a description can be 100 MB) are escaped and inlined piece by piece, so no string
 * outgrows V8's limits however big the run.
 */
export async function htmlReportPieces(result: Result, scenario: unknown, hostRanges: Record<string, number>): Promise<Generator<string>> {
  const [js, css] = await readBundle();
  return htmlReportWith(result, scenario, hostRanges, js, css);
}

/**
 * The page in pieces from the chart bundle's code and CSS as text: what a browser calls,
 * having fetched dist/report.js and dist/report.css itself (nothing here reads files).
 */
export function* htmlReportWith(result: Result, scenario: unknown, hostRanges: Record<string, number>, js: string, css: string): Generator<string> {
  // Traces are not charted; they stay in --json and --pcap.
  const { traces: _traces, ...charted } = result;
  const data = { result: charted, scenario, ranges: hostRanges };
  const name = result.name;
  const description = scenario && typeof scenario === "object" && "description" in scenario
    && typeof scenario.description === "string" ? scenario.description : "";
  const t = result.series.t;
  const duration = t.length ? t[t.length - 1] : 0;
  const interval = t.length > 1 ? t[1] - t[0] : 0;
  const e = result.engine;

  yield `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="connsim ${esc(e.version)}">
<title>`;
  yield* escPieces(name);
  yield `</title>
<style>
${inlineText(css, "style")}
</style>
</head>
<body>
<h1>`;
  yield* escPieces(name);
  yield "</h1>\n";
  if (description) {
    yield '<p class="description">';
    yield* escPieces(description);
    yield "</p>\n";
  }
  yield `<p class="meta">profile ${esc(result.profile)} · seed ${result.seed} · ${num(duration)} s simulated${interval ? `, sampled every ${num(interval)} s` : ""} · connsim ${esc(e.version)}, ${e.workers} worker${e.workers === 1 ? "" : "s"}, ${num(e.events)} events in ${e.wallSeconds.toFixed(2)} s</p>
${result.error ? `<p class="error">The run stopped early: ${esc(result.error)}. The samples up to then are shown.</p>\n` : ""}
<h2>TCP states per host</h2>
<p class="explain">Sockets in each TCP state at every sample, stacked (the netstat view); only the states a host ever has are shown. The legend gives the count at the cursor.</p>
<div id="states"></div>

<h2>Ephemeral ports in use</h2>
<p class="explain">Local ports held by a host's sockets (those in TIME_WAIT included) against the size of its ephemeral range (dashed line): connect() fails with EADDRNOTAVAIL once the range is used up.</p>
<div id="ports"></div>

${queued(result) ? `<h2>Listen queues</h2>
<p class="explain">Each server host's listeners: half-open children (the SYN queue) and connections waiting for accept() (the accept queue). A full accept queue drops SYNs and handshakes' last ACKs (ListenOverflows); a full SYN queue answers with SYN cookies, or drops SYNs without them.</p>
<div id="queues"></div>

` : ""}${result.nats ? `<h2>NAT hosts</h2>
<p class="explain">Each NAT's conntrack entries by state, its mappings (entries) and ports in use per public address against its port range, and the new flows it dropped: no free tuple (the SYN or datagram is dropped, conntrack insert_failed) or a full table (nf_conntrack_max).</p>
${natTables(result)}
<div id="nats"></div>

` : ""}<h2>Failures</h2>
<p class="explain">Failed connection attempts in each sample interval, by errno; an errno that never occurred starts hidden (click its name to show it).</p>
<div id="failures"></div>

<h2>Totals and peaks</h2>
<div class="tables">
${totalsTable(result)}
${peaksTable(result)}
${portsTable(result, hostRanges)}
</div>

<h2>Scenario</h2>
<pre>`;
  for (const piece of jsonChunks(scenario ?? null, 2)) yield* escPieces(piece);
  yield `</pre>

<script type="application/json" id="connsim-data">`;
  // JSON that cannot end its <script> element or open a comment: every "<" is escaped.
  for (const piece of jsonChunks(data)) for (const p of pieces(piece)) yield p.replace(/</g, "\\u003c");
  yield `</script>
<script>
${inlineText(js, "script")}
</script>
</body>
</html>
`;
}

/** The page of a sweep (`connsim sweep --html`): the runs' table, then each run's charts side by side, in grid order. */
export async function sweepHtmlPage(name: string, description: string, header: string[], rows: string[][],
                                    runs: { label: string; result?: Result }[]): Promise<string> {
  const [js, css] = await readBundle();
  const sweep = runs.filter((r) => r.result).map(({ label, result: r }) => ({
    label, t: r!.series.t, states: r!.series.states, failuresByErrno: r!.series.failuresByErrno,
  }));
  const head = `<tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(name)}</title>
<style>
${inlineText(css, "style")}
</style>
</head>
<body>
<h1>${esc(name)}</h1>
${description ? `<p class="description">${esc(description)}</p>\n` : ""}<p class="meta">a sweep of ${runs.length} run${runs.length === 1 ? "" : "s"}; each chart below is one run, labelled by its varied values</p>
<h2>Runs</h2>
<div class="sweep-table"><table>
${head}
${body}
</table></div>
<h2>TCP states, all hosts, per run</h2>
<p class="explain">Sockets in each TCP state at every sample, stacked, one chart per run side by side: the same workload with a mechanism and without it.</p>
<div id="sweep-states" class="side-by-side"></div>
<h2>Failures per run</h2>
<p class="explain">Failed connection attempts in each sample interval, by errno.</p>
<div id="sweep-failures" class="side-by-side"></div>
<script type="application/json" id="connsim-data">${JSON.stringify({ sweep }).replace(/</g, "\\u003c")}</script>
<script>
${inlineText(js, "script")}
</script>
</body>
</html>
`;
}

/** A long string in slices of at most `size` UTF-16 units, never between the halves of a surrogate pair. */
function* pieces(s: string, size = 1 << 20): Generator<string> {
  for (let i = 0; i < s.length;) {
    let end = Math.min(s.length, i + size);
    const last = s.charCodeAt(end - 1);
    if (end < s.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield s.slice(i, end);
    i = end;
  }
}

/** esc() slice by slice: one replace over 100 MB of "<" and "&" overflows V8 (a fatal error, not an exception). */
function* escPieces(s: string): Generator<string> {
  for (const p of pieces(s)) yield esc(p);
}

/** dist/report.js and dist/report.css: next to the bundled SDK, or under dist/ from the sources. */
async function readBundle(): Promise<[string, string]> {
  // Imported here, not at the top: a browser bundles this module for htmlReportWith.
  const [{ readFile }, { existsSync }, { fileURLToPath }] = await Promise.all([import("node:fs/promises"), import("node:fs"), import("node:url")]);
  const candidates = [new URL("report.js", import.meta.url), new URL("../../dist/report.js", import.meta.url)];
  const js = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!js) throw new Error("dist/report.js is missing; run npm run build");
  const css = new URL("report.css", js);
  if (!existsSync(fileURLToPath(css))) throw new Error("dist/report.css is missing; run npm run build");
  return Promise.all([readFile(js, "utf8"), readFile(css, "utf8")]);
}

function totalsTable(r: Result): string {
  const { totals: t } = r;
  const rows: [string, number][] = [
    ["attempted", t.attempted], ["established", t.established], ["completed", t.completed], ["pending", t.pending],
    ...Object.entries(t.failed).map(([errno, n]): [string, number] => [`failed ${errno}`, n]),
    ["segments sent", t.segments.sent], ["segments dropped", t.segments.dropped],
    ["segments retransmitted", t.segments.retransmitted], ["segments duplicated", t.segments.duplicated],
    ["segments PAWS refused (an older timestamp)", t.segments.pawsRejected ?? 0],
    ["connects that took over a TIME_WAIT tuple", t.timeWaitReused],
    ...(t.timeWaitOverflow ? [["closed without TIME_WAIT: tcp_max_tw_buckets reached (TCPTimeWaitOverflow)", t.timeWaitOverflow] as [string, number]] : []),
    ...Object.entries(t.listen ?? {}).filter(([, n]) => n > 0), // netstat's names, when they happened
  ];
  return table("Connections and segments", rows);
}

/** Whether any listener ever had a queue (the section is shown only then). */
function queued(r: Result): boolean {
  return [r.series.synQueue ?? {}, r.series.acceptQueue ?? {}].some((m) => Object.values(m).some((xs) => xs.some((x) => x > 0)));
}

function peaksTable(r: Result): string {
  return table("Peak per state, all hosts", Object.entries(r.peak));
}

function portsTable(r: Result, ranges: Record<string, number>): string {
  const rows = Object.entries(r.series.portsInUse).map(([host, xs]) => {
    const peak = xs.reduce((a, b) => Math.max(a, b), 0); // no spread: series can be millions long
    const range = Object.hasOwn(ranges, host) ? ranges[host] : undefined; // a host may be named "toString"
    const share = range ? ` (${Math.round((100 * peak) / range)}% of ${num(range)})` : "";
    return `<tr><th>${esc(host)}</th><td>${num(peak)}${share}</td></tr>`;
  });
  return `<table><caption>Peak ports in use</caption>\n${rows.join("\n")}\n</table>`;
}

/** Per NAT: its totals, and what it sustains with the limit that binds. */
function natTables(r: Result): string {
  return `<div class="tables">\n${Object.entries(r.nats ?? {}).map(([host, n]) => {
    const c = n.capacity;
    const rows: [string, number][] = [
      ["flows (entries made)", n.totals.created], ["packets forwarded", n.totals.forwarded],
      ["dropped: no free tuple", n.totals.insertFailed], ["dropped: table full", n.totals.tableFull], ["dropped: invalid", n.totals.invalid],
      ["TIME_WAIT/CLOSE entries taken over", n.totals.takeovers], ["peak entries", n.peak.entries],
      ...(n.portsPerHost ? [["ports per inside host", n.portsPerHost]] as [string, number][] : []),
      ...(n.totals.resets ? [["RSTs for flows it had dropped", n.totals.resets]] as [string, number][] : []),
      ...(c ? [["sustainable flows/s", c.sustainable ?? Infinity], ["mean seconds a tuple is held", c.holdSeconds]] as [string, number][] : []),
    ];
    return table(`${host}${n.preset ? ` (${n.preset})` : ""}${c ? ` (binds: ${c.binds}${c.reached ? ", reached" : ""})` : ""}`, rows);
  }).join("\n")}\n</div>`;
}

function table(caption: string, rows: [string, number][]): string {
  const body = rows.map(([k, v]) => `<tr${v === 0 ? ' class="zero"' : ""}><th>${esc(k)}</th><td>${num(v)}</td></tr>`);
  return `<table><caption>${esc(caption)}</caption>\n${body.join("\n")}\n</table>`;
}

function num(n: number): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: 6 });
}

function esc(s: string): string {
  // Native replaces, no callback per character: a description can be megabytes of them.
  return s.replaceAll("&", "&#38;").replaceAll("<", "&#60;").replaceAll(">", "&#62;").replaceAll('"', "&#34;").replaceAll("'", "&#39;");
}

/** Bundled code or CSS inside a raw-text element; it must not contain the closing tag. */
function inlineText(text: string, tag: "script" | "style"): string {
  if (new RegExp(`</${tag}`, "i").test(text)) throw new Error(`dist/report.* contains "</${tag}"; it cannot be inlined`);
  return text;
}
