// The browser module-worker entry (bundled to dist/browser/worker.js): the same worker
// API as Node's (sdk/workers/api.ts), exposed on the worker's global scope.

import "../plugins/index.js"; // the built-in plugins, by name (hooks run here)
import * as Comlink from "comlink";
import { workerApi } from "../sdk/workers/api.js";

Comlink.expose(workerApi());
