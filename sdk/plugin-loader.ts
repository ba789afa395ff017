// Finding the plugins a scenario names before it is checked (checking needs their
// option schemas): objects passed in, built-ins of plugins/ by name, and modules by
// path or URL, imported here and again, by the same URL, in each worker.

import { isModuleRef, type Plugin } from "./plugins.js";
import { BUILT_IN_LOSS, ScenarioError } from "./scenario.js";

/**
 * The plugins a scenario names: those given by object (by name), and modules named by a
 * path or URL (relative paths from `baseDir`), imported here. Keyed by what the
 * scenario writes.
 */
export async function loadPlugins(scenario: unknown, given: Plugin[] = [], baseDir?: string): Promise<Map<string, Plugin & { module?: string }>> {
  const out = new Map<string, Plugin & { module?: string }>(given.map((p) => [p.name, p]));
  const links = (scenario as { links?: unknown } | null)?.links;
  if (!Array.isArray(links)) return out;
  for (const [i, l] of links.entries()) {
    const ref = (l as { loss?: { plugin?: unknown } } | null)?.loss?.plugin;
    if (typeof ref !== "string" || out.has(ref) || BUILT_IN_LOSS.has(ref)) continue;
    const field = `scenario.links.${i}.loss.plugin`;
    let url: string;
    if (!isModuleRef(ref)) {
      // A name: a built-in plugin of plugins/ if there is one by that name (else the
      // scenario check names the choices).
      const found = await builtInPlugin(ref);
      if (!found) continue;
      url = found;
    } else if (/^(file|https?):/.test(ref)) url = ref;
    else {
      const { pathToFileURL } = await import("node:url");
      const { resolve } = await import("node:path");
      url = pathToFileURL(resolve(baseDir ?? process.cwd(), ref)).href;
    }
    if (/\.(ts|mts)$/.test(ref)) throw new ScenarioError(field, `${JSON.stringify(ref)}: a plugin module is JavaScript (.js or .mjs); compile a TypeScript plugin first`);
    const mod = await import(url).catch((e: Error) => { throw new ScenarioError(field, `cannot load ${JSON.stringify(ref)}: ${e.message.split("\n")[0]}`); });
    const plugin = mod.default as Plugin | undefined;
    if (!plugin || typeof plugin !== "object" || typeof plugin.name !== "string") {
      throw new ScenarioError(field, `${JSON.stringify(ref)} has no plugin as its default export (export default definePlugin({...}))`);
    }
    out.set(ref, { ...plugin, module: url });
  }
  return out;
}

/** dist/plugins/<name>.js beside the bundle this module is part of (or ../dist from the sources), if it exists. */
async function builtInPlugin(name: string): Promise<string | undefined> {
  if (!/^[a-z0-9][\w.-]*$/i.test(name)) return undefined;
  for (const rel of [`./plugins/${name}.js`, `../dist/plugins/${name}.js`]) {
    const url = new URL(rel, import.meta.url);
    if (url.protocol !== "file:") continue;
    const { existsSync } = await import("node:fs");
    const { fileURLToPath } = await import("node:url");
    if (existsSync(fileURLToPath(url))) return url.href;
  }
  return undefined;
}
