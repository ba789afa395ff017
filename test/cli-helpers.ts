// Running the CLI as a user does, `node bin/connsim.mjs ...` in a child process from the
// repository root (needs the build: dist/cli.js, build/engine.wasm).

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export function connsim(...args: string[]) {
  return connsimIn(ROOT, ...args);
}

export function connsimIn(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, "bin/connsim.mjs"), ...args], {
    cwd, encoding: "utf8", timeout: 50_000, env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A user mistake: exit 2, nothing on stdout, one line on stderr, no stack trace. */
export function expectUserError(r: ReturnType<typeof connsim>, starts: string | RegExp): string {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toContain("    at ");
  const lines = r.stderr.split("\n");
  expect(lines, r.stderr).toHaveLength(2);   // one line and its newline
  expect(lines[1]).toBe("");
  if (typeof starts === "string") expect(lines[0].startsWith(starts), lines[0]).toBe(true);
  else expect(lines[0]).toMatch(starts);
  return lines[0];
}
