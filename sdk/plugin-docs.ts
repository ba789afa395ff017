// What the plugins a scenario may name accept, as text: `connsim plugins` lists them,
// `connsim plugins <name>` shows one plugin's options, read from its own zod schema.

import { z } from "zod";
import { expectedText, unwrapSchema } from "./fields.js";
import type { Plugin, PluginKind } from "./plugins.js";

const KIND_TEXT: Record<PluginKind, string> = {
  loss: 'loss models ("loss": { "plugin": NAME, ... } on a link)',
  portAllocator: 'port allocators ("portAllocator": NAME on a host)',
  workload: 'workloads ({ "plugin": NAME, "from": HOST, "to": "HOST:PORT", ... } in workloads)',
};

/** One line per plugin, grouped by kind. */
export function pluginList(plugins: Plugin[]): string {
  const lines: string[] = [];
  for (const kind of Object.keys(KIND_TEXT) as PluginKind[]) {
    const ofKind = plugins.filter((p) => p.kind === kind);
    if (!ofKind.length) continue;
    lines.push(KIND_TEXT[kind]);
    const width = Math.max(...ofKind.map((p) => p.name.length));
    for (const p of ofKind) {
      const keys = optionEntries(p).map(([k, s]) => (s.optional ? `${k}?` : k));
      lines.push(`  ${p.name.padEnd(width)}  ${tiers(p).padEnd(13)}  ${keys.length ? keys.join(", ") : "(no options)"}`);
    }
    lines.push("");
  }
  lines.push("connsim plugins NAME shows one plugin's options.");
  return lines.join("\n") + "\n";
}

/**
 * One plugin: its kind, version, tiers, and each option with what it takes. `path`: the
 * module it was loaded from, as the user wrote it, which is then what a scenario names.
 */
export function pluginDetail(p: Plugin, path?: string): string {
  const ref = JSON.stringify(path ?? p.name);
  const use = p.kind === "loss" ? `"loss": { "plugin": ${ref}, ... }`
    : p.kind === "portAllocator" ? `"portAllocator": ${ref} or { "plugin": ${ref}, ... }`
    : `{ "plugin": ${ref}, "from": HOST, "to": "HOST:PORT", ... }`;
  const lines = [`${p.name} ${p.version}: a ${p.kind} plugin (${tiers(p)})`, `  ${use}`];
  if (path) lines.push("  (a scenario names a plugin module by its path from the scenario file's folder)");
  const entries = optionEntries(p);
  if (!entries.length) lines.push("  no options");
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  for (const [k, { text, optional }] of entries) lines.push(`  ${k.padEnd(width)}  ${optional ? "optional" : "required"}  ${text}`);
  return lines.join("\n") + "\n";
}

function tiers(p: Plugin): string {
  const has = [p.kernel && "kernel", "hook" in p && p.hook && "hook"].filter(Boolean);
  return has.join(" + ");
}

function optionEntries(p: Plugin): [string, { text: string; optional: boolean }][] {
  const schema = p.options ? unwrapSchema(p.options as z.ZodType) : undefined;
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([k, s]) => [k, { text: typeText(s), optional: s.safeParse(undefined).success }]);
}


/** A schema as a user would say it: its description when it has one. */
function typeText(s: z.ZodType): string {
  const described = s.description ?? unwrapSchema(s).description ?? expectedText(unwrapSchema(s));
  if (described) return described;
  const u = unwrapSchema(s);
  if (u instanceof z.ZodEnum) return (u.options as string[]).map((o) => JSON.stringify(o)).join(" | ");
  if (u instanceof z.ZodLiteral) return JSON.stringify(u.value);
  if (u instanceof z.ZodBoolean) return "true or false";
  if (u instanceof z.ZodString) return "a string";
  if (u instanceof z.ZodNumber) {
    const lo = u.minValue, hi = u.maxValue;
    const int = u.format === "safeint" || u.isInt;
    const range = lo !== null && lo > -Number.MAX_VALUE && hi !== null && hi < Number.MAX_SAFE_INTEGER ? ` ${lo} to ${hi}`
      : lo !== null && lo > -Number.MAX_VALUE ? ` >= ${lo}` : "";
    return `${int ? "a whole number" : "a number"}${range}`;
  }
  if (u instanceof z.ZodArray) return `a list of ${typeText(u.element as z.ZodType)}`;
  if (u instanceof z.ZodUnion) return (u.options as z.ZodType[]).map(typeText).join(", or ");
  if (u instanceof z.ZodObject) return `{ ${Object.keys(u.shape).join(", ")} }`;
  return "a value";
}
