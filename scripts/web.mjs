// `npm run web [-- --port N] [-- --no-build]`: builds the study page (dist/web/, see
// scripts/build-browser.mjs) and serves it on 127.0.0.1, printing the URL. The folder is
// plain static files: any static host serves it as well. The COOP/COEP headers make the
// page cross-origin isolated (SharedArrayBuffer, precise timers), which a host may add too.
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = join(fileURLToPath(new URL("..", import.meta.url)));
const web = join(root, "dist/web");

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json",
};

/** A static server for `dir` on 127.0.0.1 (port 0: a free one); resolves to the server once it listens. */
export function serveStatic(dir, port = 0) {
  const server = createServer(async (req, res) => {
    const headers = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cache-control": "no-cache" };
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    } catch {
      res.writeHead(400, headers).end();
      return;
    }
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(dir, path));
    const st = file.startsWith(dir + sep) ? await stat(file).catch(() => undefined) : undefined;
    if (!st?.isFile() || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(st ? 405 : 404, { ...headers, "content-type": "text/plain" }).end(st ? "method not allowed\n" : "not found\n");
      return;
    }
    const body = await readFile(file);
    res.writeHead(200, { ...headers, "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: "string" }, "no-build": { type: "boolean" } } });
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`web: --port ${values.port}: expected a port number, 0 to 65535`);
    process.exit(2);
  }
  if (!values["no-build"]) {
    // The engine and the bundles the page is made of come from the main build.
    if (!existsSync(join(root, "dist/browser/connsim.js")) || !existsSync(join(root, "build/engine.wasm")) || !existsSync(join(root, "dist/report.js"))) {
      await import("./build.mjs"); // builds the page as well
    } else {
      const { buildWebPage } = await import("./build-browser.mjs");
      await buildWebPage();
    }
  }
  const server = await serveStatic(web, port).catch((e) => {
    console.error(`web: cannot listen on 127.0.0.1:${port}: ${e.code ?? e.message}`);
    process.exit(1);
  });
  console.log(`connsim study page: http://127.0.0.1:${server.address().port}/`);
  console.log(`(static files in ${web}; Ctrl-C stops the server)`);
}
