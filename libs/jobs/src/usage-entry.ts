import type { CompletionJobData, JobMode, JobOwner, JobRecord } from "./types.js";
import type { UsageEntry } from "./usage-stream.js";

export type UsageKind = UsageEntry["kind"];

/** Who and what a usage entry is about. */
export interface UsageSubject {
  jobId: string | null;
  requestId: string;
  owner: JobOwner;
  model: string;
  provider: string;
  kind: UsageKind;
}

/** How the request ended. */
export interface UsageOutcome {
  status: number;
  /** The answer's usage; absent (nothing counted) for failures and cancels. */
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  latencyMs: number;
  cacheHit?: boolean;
  /** The upstream channel that served the request (its last try's); absent when none did. */
  channel?: string;
}

const kindOfMode: Record<JobMode, UsageKind> = { async: "job", "sync-stream": "stream", "sync-json": "sync" };

/** The one place a usage log entry is built: jobs that end (worker, cancel) and the API's cache hits. */
export function usageEntry(subject: UsageSubject, outcome: UsageOutcome, createdAt = Date.now()): UsageEntry {
  return {
    jobId: subject.jobId,
    requestId: subject.requestId,
    keyId: subject.owner.keyId,
    userId: subject.owner.userId,
    model: subject.model,
    provider: subject.provider,
    channel: outcome.channel ?? null,
    promptTokens: outcome.usage?.prompt_tokens ?? 0,
    completionTokens: outcome.usage?.completion_tokens ?? 0,
    latencyMs: outcome.latencyMs,
    status: outcome.status,
    cacheHit: outcome.cacheHit ?? false,
    kind: subject.kind,
    createdAt,
  };
}

/** A job's usage subject, from its payload (worker) or its record (a cancel). */
export function jobUsageSubject(job: CompletionJobData | JobRecord): UsageSubject {
  const isRecord = "status" in job;
  return {
    jobId: isRecord ? job.id : job.jobId,
    requestId: job.requestId ?? "",
    owner: job.owner,
    model: job.model,
    provider: job.provider,
    kind: kindOfMode[job.mode] ?? "job",
  };
}
