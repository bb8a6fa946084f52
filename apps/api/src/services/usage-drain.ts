import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Logger } from "@llmgw/logger";
import type { JobKeys, UsageEntry } from "@llmgw/jobs";
import type { UsageRepository } from "@llmgw/store";

const GROUP = "api";
const CLAIM_IDLE_MS = 60_000;
const BATCH = 500;
/**
 * How long usage entries gather between writes (here after a batch; in usage-recorder.ts for the
 * API's own): under load one transaction (SQLite) or one multi-row INSERT (PostgreSQL) then carries dozens of entries instead of a few
 * (each one writes pages of the table and its five indexes). The drain still records the first
 * entry after a quiet spell at once.
 */
export const USAGE_GATHER_MS = 100;

/**
 * Moves the workers' usage entries from the Redis stream into the database. Every API instance
 * reads in one consumer group, so each entry is taken by one of them; an entry is acknowledged
 * only after it is written, and the usage log ignores a job id it already has, so a crash between
 * the two records nothing twice. Entries left by a dead instance are claimed after a minute.
 */
export function startUsageDrain(options: {
  redis: Redis;
  keys: JobKeys;
  usage: UsageRepository;
  logger: Logger;
  /** Called once per entry newly written (metrics), never for one the log already had. */
  onRecorded?: (entry: UsageEntry) => void;
}) {
  const { redis, keys, usage, logger } = options;
  const consumer = `${hostname()}:${process.pid}`;
  let running = true;
  let wake: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  // One transaction and one acknowledgement per batch read, not per entry.
  const recordAll = async (entries: [string, string[]][]) => {
    if (entries.length === 0) return;
    const parsed = entries.flatMap(([, fields]) => {
      const text = fields[fields.indexOf("entry") + 1];
      return text ? [JSON.parse(text) as UsageEntry] : [];
    });
    for (const entry of await usage.recordAll(parsed)) options.onRecorded?.(entry);
    await redis.xack(keys.usage, GROUP, ...entries.map(([id]) => id));
  };

  const loop = async () => {
    await redis.xgroup("CREATE", keys.usage, GROUP, "0", "MKSTREAM").catch(() => {}); // exists already
    let lastClaim = 0;
    while (running) {
      try {
        if (Date.now() - lastClaim > CLAIM_IDLE_MS) {
          lastClaim = Date.now();
          const [, claimed] = (await redis.xautoclaim(keys.usage, GROUP, consumer, CLAIM_IDLE_MS, "0", "COUNT", 100)) as [
            string,
            [string, string[]][],
          ];
          await recordAll(claimed);
        }
        const reply = (await redis.xreadgroup("GROUP", GROUP, consumer, "COUNT", BATCH, "BLOCK", 1000, "STREAMS", keys.usage, ">")) as
          | [string, [string, string[]][]][]
          | null;
        if (!reply) continue;
        await recordAll(reply[0][1]);
        if (reply[0][1].length < BATCH && running) await pause(USAGE_GATHER_MS);
      } catch (error) {
        if (!running) break;
        logger.warn({ err: { message: (error as Error).message } }, "usage drain: retrying in 1 s");
        await pause(1000);
      }
    }
  };
  const done = loop();

  return {
    async stop() {
      running = false;
      wake?.();
      redis.disconnect();
      await done;
    },
  };
}
