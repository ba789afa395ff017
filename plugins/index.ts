// The built-in plugins, in the order error messages list them, registered by name
// through the public API as any program may register its own. Each entry point (the
// package, the CLI, the workers, the browser bundle) imports this module first.

import { registerPlugins } from "connsim/plugin";
import bernoulli from "./bernoulli.js";
import closedLoop from "./closed-loop.js";
import delayDuplicate from "./delay-duplicate.js";
import drop from "./drop.js";
import gilbertElliott from "./gilbert-elliott.js";
import keepalivePool from "./keepalive-pool.js";
import linux from "./linux.js";
import none from "./none.js";
import policer from "./policer.js";
import random from "./random.js";
import sequential from "./sequential.js";
import serverRestart from "./server-restart.js";
import tcpChurn from "./tcp-churn.js";
import udpRequest from "./udp-request.js";
import windows from "./windows.js";

export const builtIns = [
  none, bernoulli, gilbertElliott, drop, delayDuplicate, policer,
  sequential, random, linux, windows,
  tcpChurn, closedLoop, keepalivePool, udpRequest, serverRestart,
];

registerPlugins(...builtIns);
