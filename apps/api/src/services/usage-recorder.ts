import type { Logger } from "@llmgw/logger";
import type { UsageEntry } from "@llmgw/jobs";
import type { UsageRepository } from "@llmgw/store";

/**
 * Usage the API sees itself (cache hits), written to the database in batches: entries gather
 * for `gatherMs` and go in one transaction (one INSERT on PostgreSQL). A transaction per cache hit wrote pages of the table
 * and its five indexes each time, a dozen system calls per hit.
 */
export function createUsageRecorder(options: {
  usage: UsageRepository;
  logger: Logger;
  gatherMs: number;
  /** Called once per entry newly written (metrics). */
  onRecorded?: (entry: UsageEntry) => void;
}) {
  let pending: UsageEntry[] = [];
  let timer: NodeJS.Timeout | null = null;

  async function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    try {
      for (const entry of await options.usage.recordAll(batch)) options.onRecorded?.(entry);
    } catch (error) {
      options.logger.error({ err: { message: (error as Error).message }, entries: batch.length }, "could not record usage");
    }
  }

  return {
    /** Queues the entry; it is in the usage log within `gatherMs`. */
    record(entry: UsageEntry) {
      pending.push(entry);
      timer ??= setTimeout(() => void flush(), options.gatherMs);
    },
    /** Writes what is queued now (shutdown, and readers that must see it). */
    flush,
  };
}

export type UsageRecorder = ReturnType<typeof createUsageRecorder>;
