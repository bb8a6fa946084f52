import type { Logger } from "@llmgw/logger";
import type { UsageRepository } from "@llmgw/store";

/** Rows deleted per statement: a prune never holds the database's write lock, or the event loop, for long. */
const BATCH = 5000;
const EVERY_MS = 3_600_000;

/**
 * Keeps the usage log to `USAGE_RETENTION_DAYS` (0: forever): prunes at start and every hour, a
 * batch at a time with the event loop free in between. API instances sharing the database may all
 * prune; deleting what is already gone costs nothing.
 */
export function startUsageRetention(options: { usage: UsageRepository; days: number; logger: Logger }) {
  const { usage, days, logger } = options;
  if (days <= 0) return { stop() {} };
  let stopped = false;

  async function prune() {
    const cutoff = Math.floor(Date.now() / 1000) - days * 86_400;
    let deleted = 0;
    try {
      for (let batch = BATCH; batch === BATCH && !stopped; ) {
        batch = await usage.pruneBefore(cutoff, BATCH);
        deleted += batch;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (deleted > 0) logger.info({ deleted, days }, "usage log: rows past the retention deleted");
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, "usage log: pruning failed; trying again in an hour");
    }
  }

  void prune();
  const timer = setInterval(() => void prune(), EVERY_MS).unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
