// `connsim sweep examples/default.json --vary workloads.0.rate=10,100 --workers 2 --csv -`
// from code: every combination checked first, then run on a pool of worker threads.
import { readFileSync } from "node:fs";
import { parseVary, runSweep, sweepCsv, sweepTable, WorkerPool } from "connsim";

const scenario = JSON.parse(readFileSync(new URL("../default.json", import.meta.url), "utf8"));
const varies = [parseVary("workloads.0.rate=10,100")];
const pool = new WorkerPool({ workers: 2 });
try {
  const rows = await runSweep(scenario, varies, pool);
  for (const row of rows) console.error(row.values, row.result?.totals.failed.EADDRNOTAVAIL, "EADDRNOTAVAIL");
  console.error(sweepTable(varies, rows)[0].join(" | "));
  process.stdout.write(sweepCsv(varies, rows));
} finally {
  await pool.close();
}
