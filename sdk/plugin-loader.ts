// Finding the plugins a scenario names by module path or URL, before it is checked
// (checking needs their option schemas): imported here, and again, by the same URL,
// in each worker that hosts one's hook. Plugins named by name are registered ones
// (plugins.ts registerPlugins) or passed in.

import { importUserModule } from "./user-module.js";
import { isModuleRef, type ModulePlugin, type Plugin } from "./plugins.js";
import { ScenarioError } from "./scenario.js";

/** Where a scenario names plugins: each field and the reference written there. */
function pluginRefs(scenario: unknown): [field: string, ref: string][] {
  const s = scenario as { hosts?: unknown; links?: unknown; workloads?: unknown } | null;
  const out: [string, string][] = [];
  const ref = (v: unknown) => (typeof v === "string" ? v : (v as { plugin?: unknown } | null)?.plugin);
  if (s?.hosts && typeof s.hosts === "object") {
    for (const [name, h] of Object.entries(s.hosts)) {
      const use = (h as { portAllocator?: unknown } | null)?.portAllocator;
      const r = ref(use);
      if (typeof r === "string") out.push([`scenario.hosts.${name}.portAllocator${typeof use === "string" ? "" : ".plugin"}`, r]);
    }
  }
  if (Array.isArray(s?.links)) {
    s.links.forEach((l, i) => {
      const r = ref((l as { loss?: unknown } | null)?.loss ?? null);
      if (typeof r === "string") out.push([`scenario.links.${i}.loss.plugin`, r]);
    });
  }
  if (Array.isArray(s?.workloads)) {
    s.workloads.forEach((w, i) => {
      const r = ref(w ?? null);
      if (typeof r === "string") out.push([`scenario.workloads.${i}.plugin`, r]);
    });
  }
  return out;
}

/**
 * The plugins a scenario needs, as planScenario takes them: those `given`, and the
 * modules it names by a path or URL (relative paths from `baseDir`), imported here.
 */
export async function loadPlugins(scenario: unknown, given: Plugin[] = [], baseDir?: string): Promise<(Plugin | ModulePlugin)[]> {
  const known = new Set(given.map((p) => (p as Partial<ModulePlugin>).ref ?? p.name));
  const out: (Plugin | ModulePlugin)[] = [...given];
  for (const [field, ref] of pluginRefs(scenario)) {
    if (known.has(ref) || !isModuleRef(ref)) continue;
    known.add(ref);
    out.push({ ...await importPlugin(ref, field, baseDir), ref });
  }
  return out;
}

/** The plugin a module path or URL exports by default, with the URL it came from; a problem names `field`. */
export async function importPlugin(ref: string, field: string, baseDir?: string): Promise<Plugin & { module: string }> {
  let url: string;
  if (/^(file|https?):/.test(ref)) url = ref;
  else {
    const { pathToFileURL } = await import("node:url");
    const { resolve } = await import("node:path");
    url = pathToFileURL(resolve(baseDir ?? process.cwd(), ref)).href;
  }
  if (/\.(ts|mts)$/.test(ref)) throw new ScenarioError(field, `${JSON.stringify(ref)}: a plugin module is JavaScript (.js or .mjs); compile a TypeScript plugin first`);
  if (url.startsWith("file:")) {
    // Importing a device or a pipe reads forever (/dev/zero), a directory fails obscurely: only a file is a module.
    const { fileURLToPath } = await import("node:url");
    const { stat } = await import("node:fs/promises");
    const what = await stat(fileURLToPath(url)).then((st) => (st.isFile() ? undefined : st.isDirectory() ? "a directory" : "not a regular file (a device, a pipe or a socket)"),
      (e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? "no such file" : e.message.split("\n")[0]));
    if (what) throw new ScenarioError(field, `cannot load ${JSON.stringify(ref)}: ${what}; a plugin is a .js or .mjs module file`);
  }
  const mod = await importUserModule(url).catch((e: Error) => { throw new ScenarioError(field, `cannot load ${JSON.stringify(ref)}: ${e.message.split("\n")[0]}`); });
  const plugin = mod.default as Plugin | undefined;
  if (!plugin || typeof plugin !== "object" || typeof plugin.name !== "string") {
    throw new ScenarioError(field, `${JSON.stringify(ref)} has no plugin as its default export (export default definePlugin({...}))`);
  }
  return { ...plugin, module: url };
}
