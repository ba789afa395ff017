// The result's series as one CSV table: a row per sample, the columns named as the
// JSON fields are, so a spreadsheet and a script reading the JSON see the same numbers.
//
//   t, <STATE> (all hosts) x 11, <host>.<STATE> per host, portsInUse.<host>,
//   udpSockets.<host>, failures, failures.<ERRNO>

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
  columns.push(["failures", s.failures]);
  for (const [errno, values] of Object.entries(s.failuresByErrno)) columns.push([`failures.${errno}`, values]);

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

/** Quotes a cell a CSV reader might split (host names cannot hold such characters; messages can). */
export function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
