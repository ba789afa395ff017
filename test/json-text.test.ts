// A scenario file's JSON (sdk/json-text.ts): any valid JSON without repeated keys parses
// as JSON.parse does; a repeated key is found wherever it is; a syntax error says where.

import fc from "fast-check";
import { expect, test } from "vitest";
import { parseJsonText } from "../sdk/json-text.js";

test("valid JSON without repeated keys parses as JSON.parse does, however it is spaced", () => {
  fc.assert(fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, 2, "\t"), (v, space) => {
    const text = JSON.stringify(v, null, space as never);
    expect(parseJsonText(text)).toEqual({ value: JSON.parse(text) });
  }), { numRuns: 300 });
});

test("a repeated key is named with its path, line and column, at any depth", () => {
  fc.assert(fc.property(fc.array(fc.string(), { minLength: 1, maxLength: 4 }), fc.string(), (path, key) => {
    // { "a": { "b": { KEY: 1, "x\"y": [1, "}"], KEY: 2 } } }
    const inner = `{ ${JSON.stringify(key)}: 1, "x\\"y": [1, "}", {"k": "]"}], ${JSON.stringify(key)}: 2 }`;
    const text = path.reduceRight((acc, p) => `{ ${JSON.stringify(p)}: [0, ${acc}] }`, inner);
    const r = parseJsonText(text);
    const at = text.lastIndexOf(`${JSON.stringify(key)}: 2`);
    expect(r).toEqual({ error: `line 1, column ${at + 1}: scenario.${path.map((p) => `${p}.1`).join(".")}: key ${JSON.stringify(key)} is given twice in one object` });
  }), { numRuns: 200 });
});

test("syntax errors: line and column of the problem, an empty file by name", () => {
  expect(parseJsonText('{\n  "duration": 60s\n}')).toEqual({ error: "line 2, column 17: Expected ',' or '}' after property value" });
  expect(parseJsonText("  \n")).toEqual({ error: "the file is empty" });
  expect(parseJsonText('{"a": 1')).toMatchObject({ error: expect.stringMatching(/^line 1, column 8: /) });
});
