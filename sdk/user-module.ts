// Importing a module the user hands connsim (a plugin by path, a .js or .ts scenario), in
// the main thread and in workers alike. Such a file may live where connsim is not
// installed (/tmp/x.mjs, a folder of its own): its `import ... from "connsim/plugin"`
// must still find a connsim, and the right one is the connsim running it. So, before
// the first file: import in each thread, a Node module resolve hook (module.register)
// maps "connsim" and "connsim/plugin" to this package's dist/index.js and dist/plugin.js.
// It imports nothing at the top: browsers bundle it too (their plugins come by http(s)
// URL and need no hook).

let hooked: Promise<void> | undefined;

/** In the CLI's and the workers' bundles, which run as scripts (code-cache.ts), their wrapper's import(); absent elsewhere. */
declare const __bundleImport: ((url: string) => Promise<{ default?: unknown }>) | undefined;

/** The module at `url` (file:, http(s):, data:); a file: module's "connsim" and "connsim/plugin" are this connsim. */
export async function importUserModule(url: string): Promise<{ default?: unknown }> {
  if (url.startsWith("file:")) await (hooked ??= resolveConnsimHere());
  return typeof __bundleImport === "function" ? __bundleImport(url) : import(url);
}

// The hook runs on Node's loader thread: it gets the two URLs as data.
const HOOK = `let to = {};
export function initialize(data) { to = data; }
export function resolve(specifier, context, next) {
  return Object.hasOwn(to, specifier) ? { url: to[specifier], format: "module", shortCircuit: true } : next(specifier, context);
}`;

async function resolveConnsimHere(): Promise<void> {
  const { register } = await import("node:module");
  if (typeof register !== "function") return; // Node before 20.6: plain resolution (connsim installed beside the file)
  // From dist/*.js (the package) and from sdk/*.ts (the sources, run by the tests) alike.
  const dist = (file: string) => new URL(`../dist/${file}`, import.meta.url).href;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { connsim: dist("index.js"), "connsim/plugin": dist("plugin.js") } });
}
