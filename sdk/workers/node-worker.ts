// The worker_threads entry (bundled to dist/node-worker.js): the worker API over
// comlink's Node adapter.

import { parentPort } from "node:worker_threads";
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { workerApi } from "./api.js";

if (!parentPort) throw new Error("node-worker.js runs inside a worker thread");
Comlink.expose(workerApi(), nodeEndpoint(parentPort));
