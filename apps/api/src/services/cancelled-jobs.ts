import type { Logger } from "@llmgw/logger";
import type { JobMode, JobStore, UsageEntry, WebhookOutbox } from "@llmgw/jobs";

/** The status a cancelled job is recorded with in the usage log (nginx's "client closed request"). */
export const CANCELLED_USAGE_STATUS = 499;

const usageKind: Record<JobMode, UsageEntry["kind"]> = { async: "job", "sync-stream": "stream", "sync-json": "sync" };

/**
 * What follows a cancel that this process made: the job's one usage entry (workers record the
 * jobs that they end; a cancelled job may never reach one) and its webhook, if it asked for one.
 * The job store lets exactly one cancel succeed, so this runs once per job.
 */
export function createCancelledJobHandler(deps: {
  store: JobStore;
  recordUsage: (entry: UsageEntry) => void;
  webhooks: WebhookOutbox;
  logger: Logger;
}) {
  return async function onCancelled(jobId: string): Promise<void> {
    try {
      const record = await deps.store.get(jobId);
      if (!record) return;
      const endedAt = record.completedAt ?? Date.now();
      deps.recordUsage({
        jobId,
        requestId: record.requestId ?? "",
        keyId: record.owner.keyId,
        userId: record.owner.userId,
        model: record.model,
        provider: record.provider,
        // What the provider had produced before the abort is unknown; nothing is counted.
        promptTokens: 0,
        completionTokens: 0,
        latencyMs: endedAt - record.createdAt,
        status: CANCELLED_USAGE_STATUS,
        cacheHit: false,
        kind: usageKind[record.mode] ?? "job",
        createdAt: endedAt,
      });
      if (record.webhook) await deps.webhooks.announce(jobId);
    } catch (error) {
      deps.logger.warn({ err: { message: (error as Error).message }, jobId }, "could not record a cancelled job's usage or webhook");
    }
  };
}
