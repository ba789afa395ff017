// One Redis connection for the queue's users: a Redis that cannot be reached at the
// start is an error at once (a mistyped port should not hang), while one lost later is
// waited for, however long: commands wait through the outage and the user is told.

import type { Redis } from "ioredis";
import { redisOptions, type QueueTarget } from "./job.js";

export async function connectRedis(target: QueueTarget, note: (line: string) => void): Promise<Redis> {
  const { Redis } = await import("ioredis");
  let ready = false;
  const redis = new Redis({
    ...redisOptions(target),
    maxRetriesPerRequest: null, // as BullMQ's workers need; commands wait for the connection
    enableAutoPipelining: true,
    retryStrategy: (times) => (ready ? Math.min(200 * times, 2000) : times > 3 ? null : 200),
  });
  let cause: string | undefined;
  let waiting = false;
  redis.on("error", (e: Error) => { cause = e.message; });
  // Before each attempt to reconnect (never after our own disconnect): said once per outage.
  redis.on("reconnecting", () => {
    if (ready && !waiting) note(`lost Redis at ${target.shown} (${cause ?? "connection closed"}); waiting for it`);
    waiting = true;
  });
  redis.on("ready", () => {
    if (ready && waiting) note(`Redis at ${target.shown} is back`);
    ready = true;
    waiting = false;
    cause = undefined;
  });
  try {
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new Error(`cannot reach Redis at ${target.shown}: ${cause ?? (e as Error).message}`);
  }
  return redis;
}
