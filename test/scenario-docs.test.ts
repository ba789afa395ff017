// The scenario reference (docs/scenario.md) and the JSON Schema are made from the zod
// schemas that check a scenario: the page must be what the schemas make now, every field
// must say what it means, and the JSON Schema must take the examples and refuse what
// connsim refuses.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { scenarioJsonSchema } from "../sdk/scenario.js";
import { withReference } from "../sdk/scenario-docs.js";
import { ROOT } from "./cli-helpers.js";

const REGENERATE = "node scripts/build.mjs && node scripts/scenario-docs.mjs";

test("docs/scenario.md holds the reference the schemas make", () => {
  const doc = readFileSync(join(ROOT, "docs/scenario.md"), "utf8");
  if (withReference(doc) !== doc) expect.fail(`docs/scenario.md is out of date; run ${REGENERATE}`);
});

interface Json { [key: string]: any }

test("every field of the scenario says what it means (its .describe() in sdk/scenario.ts)", () => {
  const missing: string[] = [];
  const walk = (node: Json, path: string) => {
    for (const [key, child] of Object.entries<Json>(node.properties ?? {})) {
      if (!child.description) missing.push(`${path}${key}`);
      walk(child, `${path}${key}.`);
    }
    if (node.items) walk(node.items, path.replace(/\.$/, "[]."));
    if (node.additionalProperties && typeof node.additionalProperties === "object") walk(node.additionalProperties, `${path}NAME.`);
    for (const branch of node.anyOf ?? []) walk(branch, path);
  };
  walk(scenarioJsonSchema(), "");
  expect(missing, "fields without a description").toEqual([]);
});

/**
 * The JSON Schema keywords z.toJSONSchema writes for a scenario, checked as draft 2020-12
 * defines them; a keyword this does not know fails, so the check cannot pass by skipping one.
 */
function validate(schema: Json, value: unknown, at = "scenario"): string[] {
  const errors: string[] = [];
  const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);
  for (const [keyword, want] of Object.entries(schema)) {
    switch (keyword) {
      case "type": {
        const types = [want].flat() as string[];
        const got = typeOf(value);
        if (!types.some((t) => t === got || (t === "number" && got === "integer"))) errors.push(`${at}: expected ${types.join(" or ")}, got ${got}`);
        break;
      }
      case "enum": if (!want.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(want)}`); break;
      case "const": if (value !== want) errors.push(`${at}: expected ${JSON.stringify(want)}`); break;
      case "minimum": if (typeof value === "number" && value < want) errors.push(`${at}: below ${want}`); break;
      case "maximum": if (typeof value === "number" && value > want) errors.push(`${at}: above ${want}`); break;
      case "exclusiveMinimum": if (typeof value === "number" && value <= want) errors.push(`${at}: not above ${want}`); break;
      case "pattern": if (typeof value === "string" && !new RegExp(want, "u").test(value)) errors.push(`${at}: does not match ${want}`); break;
      case "minItems": if (Array.isArray(value) && value.length < want) errors.push(`${at}: fewer than ${want} items`); break;
      case "maxItems": if (Array.isArray(value) && value.length > want) errors.push(`${at}: more than ${want} items`); break;
      case "prefixItems": if (Array.isArray(value)) want.forEach((s: Json, i: number) => { if (i < value.length) errors.push(...validate(s, value[i], `${at}.${i}`)); }); break;
      case "items": if (Array.isArray(value)) value.slice(schema.prefixItems?.length ?? 0).forEach((v, i) => errors.push(...validate(want, v, `${at}.${i}`))); break;
      case "anyOf": {
        const branches = want.map((s: Json) => validate(s, value, at));
        if (!branches.some((b: string[]) => b.length === 0)) errors.push(`${at}: matches none of its forms (${branches.map((b: string[]) => b[0]).join("; ")})`);
        break;
      }
      case "required": if (typeOf(value) === "object") for (const k of want) if (!(k in (value as object))) errors.push(`${at}.${k}: required`); break;
      case "properties": // with additionalProperties for the keys it does not name
        if (typeOf(value) === "object") for (const [k, v] of Object.entries(value as object)) {
          if (k in want) errors.push(...validate(want[k], v, `${at}.${k}`));
          else if (schema.additionalProperties === false) errors.push(`${at}.${k}: unknown field`);
          else if (schema.additionalProperties) errors.push(...validate(schema.additionalProperties, v, `${at}.${k}`));
        }
        break;
      case "additionalProperties":
        if (typeOf(value) === "object" && !schema.properties) for (const [k, v] of Object.entries(value as object)) {
          if (want === false) errors.push(`${at}.${k}: unknown field`);
          else errors.push(...validate(want, v, `${at}.${k}`));
        }
        break;
      case "propertyNames":
        if (typeOf(value) === "object") for (const k of Object.keys(value as object)) errors.push(...validate(want, k, `${at} key ${k}`));
        break;
      case "$schema": case "description": case "default": case "examples":
      case "typeName": case "expected": case "defaultText": case "unit":
        break; // annotations
      default: throw new Error(`the test's validator does not know the JSON Schema keyword "${keyword}" (at ${at}): teach it`);
    }
  }
  return errors;
}

describe("the JSON Schema (connsim/scenario.schema.json)", () => {
  const schema = scenarioJsonSchema();
  const examples = readdirSync(join(ROOT, "examples"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".json")).sort();

  test.each(examples)("takes examples/%s", (file) => {
    expect(validate(schema, JSON.parse(readFileSync(join(ROOT, "examples", file), "utf8")))).toEqual([]);
  });

  const base = () => JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
  test.each([
    ["a misspelt knob", (s: Json) => { s.hosts.client.tcp = { timeWiat: "60s" }; }, "scenario.hosts.client.tcp.timeWiat: unknown field"],
    ["a profile that does not exist", (s: Json) => { s.profile = "bsd"; }, 'scenario.profile: "bsd" is not one of'],
    ["a host name with a space", (s: Json) => { s.hosts["my host"] = s.hosts.client; }, "scenario.hosts key my host: does not match"],
    ["a twReuse of 3", (s: Json) => { s.hosts.client.tcp = { twReuse: 3 }; }, "scenario.hosts.client.tcp.twReuse: matches none of its forms"],
    ["no duration", (s: Json) => { delete s.duration; }, "scenario.duration: required"],
    ["a link with one end", (s: Json) => { s.links[0].between = ["client"]; }, "scenario.links.0.between: fewer than 2 items"],
    ["a fleet of 0", (s: Json) => { s.hosts.client.count = 0; }, "scenario.hosts.client.count: below 1"],
  ])("refuses %s, as connsim does", (_, change, says) => {
    const s = base();
    change(s);
    expect(validate(schema, s).join("\n")).toContain(says);
  });

  test("is what the package ships (dist/scenario.schema.json, built by scripts/build.mjs)", () => {
    const shipped = JSON.parse(readFileSync(join(ROOT, "dist/scenario.schema.json"), "utf8"));
    expect(shipped).toEqual(schema);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(pkg.exports["./scenario.schema.json"]).toBe("./dist/scenario.schema.json");
  });
});
