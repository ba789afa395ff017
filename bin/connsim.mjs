#!/usr/bin/env node
import { main } from "../dist/cli.js";
// A reader that stops early (`connsim run s.json --json - | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => { if (e.code === "EPIPE") process.exit(process.exitCode ?? 0); else throw e; });
}
const code = await main(process.argv.slice(2));
// Plugin code may leave a timer or a socket open (a hook that timed out still runs):
// exit once stdout and stderr have taken everything, rather than wait for it.
for (const stream of [process.stdout, process.stderr]) await new Promise((done) => stream.write("", done));
process.exit(code);
