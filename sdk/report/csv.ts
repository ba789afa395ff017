// The result's series as one CSV table: a row per sample, the columns named as the
// JSON fields are, so a spreadsheet and a script reading the JSON see the same numbers.
//
//   t, <STATE> (all hosts) x 11, <host>.<STATE> per host, portsInUse.<host>,
//   udpSockets.<host>, synQueue.<host>, acceptQueue.<host>, failures, failures.<ERRNO>,
//   and per NAT host: nats.<host>.entries, nats.<host>.<CT_STATE>, nats.<host>.mappings.<address>,
//   nats.<host>.portsInUse.<address>, nats.<host>.insertFailed, nats.<host>.tableFull

import type { Result } from "../result.js";

export function seriesCsv(result: Result): string {
  return [...seriesCsvChunks(result)].join("");
}

/** The same text in pieces of about `size` characters: a long run's table is longer than a string can be. */
export function* seriesCsvChunks(result: Result, size = 1 << 20): Generator<string> {
  const s = result.series;
  const columns: [string, number[]][] = [["t", s.t]];
  for (const [state, values] of Object.entries(s.states)) columns.push([state, values]);
  for (const [host, states] of Object.entries(s.byHost)) {
    for (const [state, values] of Object.entries(states)) columns.push([`${host}.${state}`, values]);
  }
  for (const [host, values] of Object.entries(s.portsInUse)) columns.push([`portsInUse.${host}`, values]);
  for (const [host, values] of Object.entries(s.udpSockets)) columns.push([`udpSockets.${host}`, values]);
  for (const [host, values] of Object.entries(s.synQueue)) columns.push([`synQueue.${host}`, values]);
  for (const [host, values] of Object.entries(s.acceptQueue)) columns.push([`acceptQueue.${host}`, values]);
  columns.push(["failures", s.failures]);
  for (const [errno, values] of Object.entries(s.failuresByErrno)) columns.push([`failures.${errno}`, values]);
  for (const [host, n] of Object.entries(result.nats ?? {})) {
    const at = `nats.${host}`;
    columns.push([`${at}.entries`, n.series.entries]);
    for (const [state, values] of Object.entries(n.series.states)) columns.push([`${at}.${state}`, values]);
    for (const [a, values] of Object.entries(n.series.mappings)) columns.push([`${at}.mappings.${a}`, values]);
    for (const [a, values] of Object.entries(n.series.portsInUse)) columns.push([`${at}.portsInUse.${a}`, values]);
    columns.push([`${at}.insertFailed`, n.series.insertFailed], [`${at}.tableFull`, n.series.tableFull]);
  }

  let lines = [columns.map(([name]) => csvCell(name)).join(",")];
  let length = lines[0].length;
  for (let i = 0; i < s.t.length; i++) {
    if (length >= size) { yield lines.join("\n") + "\n"; lines = []; length = 0; }
    const line = columns.map(([, v]) => String(v[i])).join(",");
    lines.push(line);
    length += line.length + 1;
  }
  yield lines.join("\n") + "\n";
}

/**
 * Quotes a cell a CSV reader might split (host names cannot hold such characters;
 * messages and --vary values can). A cell a spreadsheet would read as a formula (it
 * starts with = + - @, a tab or a CR: OWASP's CSV injection guidance) gets a leading '
 * inside quotes; a plain negative number stays a number.
 */
export function csvCell(text: string): string {
  const formula = /^[=+\-@\t\r]/.test(text) && !/^-(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text);
  const cell = formula ? `'${text}` : text;
  return formula || /[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
