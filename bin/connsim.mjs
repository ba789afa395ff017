#!/usr/bin/env node
import { main } from "../dist/cli.js";
// A reader that stops early (`connsim run s.json --json - | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => { if (e.code === "EPIPE") process.exit(process.exitCode ?? 0); else throw e; });
}
process.exitCode = await main(process.argv.slice(2));
