import type { JobMode, JobRecord, UsageEntry } from "@llmgw/jobs";

/** The status a cancelled job is recorded with in the usage log (nginx's "client closed request"). */
export const CANCELLED_USAGE_STATUS = 499;

const usageKind: Record<JobMode, UsageEntry["kind"]> = { async: "job", "sync-stream": "stream", "sync-json": "sync" };

/**
 * The usage entry of a job this process cancels (workers write the entries of the jobs that they
 * end; a cancelled job may never reach one). It goes into the log with the job's cancelled event,
 * in the same Redis call, so it is written exactly once, and never lost with this process.
 */
export function cancelledUsageEntry(record: JobRecord, endedAt = Date.now()): UsageEntry {
  return {
    jobId: record.id,
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
  };
}
