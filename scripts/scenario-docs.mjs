// Writes the scenario reference into docs/scenario.md, between its markers, from the zod
// schemas of sdk/scenario.ts (through dist/scenario-docs.js: run node scripts/build.mjs
// first). test/scenario-docs.test.ts fails when the page is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { withReference } from "../dist/scenario-docs.js";

const file = join(dirname(fileURLToPath(import.meta.url)), "..", "docs", "scenario.md");
const before = readFileSync(file, "utf8");
const after = withReference(before);
if (after !== before) writeFileSync(file, after);
console.log(after === before ? "docs/scenario.md is up to date" : "wrote docs/scenario.md");
