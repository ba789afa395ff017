// README.md and docs/*.md cannot drift from the program: every connsim command they
// show is run. In a code block, a line "$ connsim ..." (or "npx connsim", "node
// bin/connsim.mjs") is a command and the lines after it, up to the next "$ " or the
// block's end, are its output (stdout then stderr), compared line by line: wall-clock
// figures are normalised, everything simulated must match to the digit, and "..."
// stands for text left out (a line of its own: any number of lines). Any other connsim
// command in a sh block, and an inline `npx connsim ...` span in the prose, must exit 0
// (a bare `connsim run` in the prose names the command, it is not one). Synopses (lines
// with <placeholders>, [options] or "A | B") are not commands.
// Commands run in a scratch directory holding `examples` (a link to the repository's)
// and the FIXTURES below, so their outputs (out/...) land there.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ROOT } from "./cli-helpers.js";

/** Files the documents' commands name that are not in the repository: the mistake docs/cli.md shows. */
const FIXTURES: Record<string, () => string> = {
  "typo.json": () => {
    const s = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
    s.hosts.client.tpc = { twReuse: 1 };
    return JSON.stringify(s, null, 2);
  },
};

/** Commands not run, each with its reason. */
const SKIPPED: Record<string, string> = {
  "npx connsim run s.json --json - | jq .totals": "an illustration of a pipe: s.json is any scenario, and jq need not be installed (test/cli-unix.test.ts runs the pipe)",
};

/** Exit codes a command shown with its output may end with: a shown error or failed check is the point. */
const CODES = [0, 1, 2, 3];

interface Shown { doc: string; command: string; output?: string }

const DOCS = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const PROGRAM = /^(?:npx connsim|connsim|node bin\/connsim\.mjs)(?: |$)/;
const SYNOPSIS = /<[^>]+>|\[[^\]]*\]| \| /;

/** The connsim commands a document shows, with their output when it shows it. */
function shownIn(doc: string): Shown[] {
  const text = readFileSync(join(ROOT, doc), "utf8");
  const shown: Shown[] = [];
  const blocks = [...text.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)];
  for (const [, indent, lang, body] of blocks) {
    const lines = body.split("\n").map((l) => l.slice(indent.length));
    lines.pop(); // the newline before the closing fence
    if (lines.some((l) => l.startsWith("$ "))) {
      let current: Shown | undefined;
      for (const l of lines) {
        if (l.startsWith("$ ")) {
          current = { doc, command: l.slice(2), output: "" };
          if (PROGRAM.test(current.command)) shown.push(current);
        } else if (current) current.output += `${l}\n`;
      }
    } else if (["sh", "bash", "shell", ""].includes(lang)) {
      for (const l of lines) if (PROGRAM.test(l.trim()) && !SYNOPSIS.test(l)) shown.push({ doc, command: l.trim().replace(/\s+#.*$/, "") });
    }
  }
  // Inline `code` spans in the prose (outside the blocks).
  const prose = text.replace(/^( *)```[\s\S]*?^\1```$/gm, "");
  for (const [, span] of prose.matchAll(/`([^`\n]+)`/g)) {
    if (/^(?:npx connsim|node bin\/connsim\.mjs) /.test(span) && !SYNOPSIS.test(span.replace(/ \| jq.*$/, "")) && !/\.\.\./.test(span)) shown.push({ doc, command: span });
  }
  return shown;
}

/** Shell words: spaces split, single and double quotes group. */
function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Wall-clock figures differ from run to run; nothing else may. */
function normalise(text: string): string {
  return text.replace(/\d+(?:\.\d+)?s wall/g, "Ns wall").replace(/[\d.]+ ?[kM]? events\/s/g, "N events/s");
}

/** The shown output as a pattern: "..." alone is any lines, within a line any text. */
function pattern(output: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const lines = normalise(output).replace(/\n+$/, "").split("\n");
  const body = lines.map((l) => (l.trim() === "..." ? "(?:[^\\n]*\\n)*?" : `${l.split("...").map(escape).join(".*?")}\\n`)).join("");
  return new RegExp(`^${body}$`);
}

const all = DOCS.flatMap(shownIn);
let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "connsim-docs-"));
  symlinkSync(join(ROOT, "examples"), join(cwd, "examples"));
  mkdirSync(join(cwd, "out"));
  for (const [name, make] of Object.entries(FIXTURES)) writeFileSync(join(cwd, name), make());
});
afterAll(() => {
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

test("the documents show commands with their output, and commands without", () => {
  expect(all.filter((s) => s.output !== undefined).length).toBeGreaterThanOrEqual(5);
  expect(all.filter((s) => s.output === undefined).length).toBeGreaterThanOrEqual(3);
  expect(all.some((s) => s.doc === "README.md" && s.output?.includes("TIME_WAIT plateau"))).toBe(true);
});

describe.each(DOCS.filter((d) => all.some((s) => s.doc === d)))("%s", (doc) => {
  const mine = all.filter((s) => s.doc === doc);
  test.each(mine.map((s) => [s.command, s] as const))("%s", (_, s) => {
    if (SKIPPED[s.command]) return;
    const [, ...args] = words(s.command.replace(/^npx connsim|^connsim|^node bin\/connsim\.mjs/, "connsim"));
    const r = spawnSync(process.execPath, [join(ROOT, "bin/connsim.mjs"), ...args], { cwd, encoding: "utf8", timeout: 50_000 });
    if (r.error) throw r.error;
    if (s.output === undefined) {
      expect(r.status, r.stderr).toBe(0);
      return;
    }
    expect(CODES).toContain(r.status);
    const got = normalise(r.stdout + r.stderr);
    if (!pattern(s.output).test(got)) expect(got).toBe(normalise(s.output)); // shows the difference
  });
});

test("every skipped command is still in a document", () => {
  for (const command of Object.keys(SKIPPED)) expect(all.map((s) => s.command), command).toContain(command);
});
