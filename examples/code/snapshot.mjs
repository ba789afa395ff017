// `connsim snapshot examples/default.json --at 30s --json -` from code: the `ss -s` view
// of one simulated instant, as an object.
import { readFileSync } from "node:fs";
import { snapshotScenario } from "connsim";

const scenario = JSON.parse(readFileSync(new URL("../default.json", import.meta.url), "utf8"));
const snap = await snapshotScenario(scenario, { at: "30s" });
const client = snap.hosts.client;
console.error(`client at ${snap.t}s: ${client.states.TIME_WAIT} in TIME_WAIT, ${client.portsInUse} ports in use`);
process.stdout.write(JSON.stringify(snap, null, 2) + "\n");
