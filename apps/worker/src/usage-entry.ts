import type { CompletionJobData, UsageEntry } from "@llmgw/jobs";
import type { ChatCompletion } from "@llmgw/providers";

/** The usage log's entry for a job that ended here (written atomically with its end). */
export function usageEntryOf(data: CompletionJobData, status: number, result: ChatCompletion | null, latencyMs: number): UsageEntry {
  return {
    jobId: data.jobId,
    requestId: data.requestId,
    keyId: data.owner.keyId,
    userId: data.owner.userId,
    model: data.model,
    provider: data.provider,
    promptTokens: result?.usage?.prompt_tokens ?? 0,
    completionTokens: result?.usage?.completion_tokens ?? 0,
    latencyMs,
    status,
    cacheHit: false,
    kind: data.mode === "async" ? "job" : data.mode === "sync-stream" ? "stream" : "sync",
    createdAt: Date.now(),
  };
}
