
/**
 * One finished request, as the usage log records it (ids only, never a key). Workers may run
 * where the SQLite file is not, so a job's entry goes into the `usage` stream (field `entry`,
 * JSON) atomically with the job's end, and the API drains the stream into the usage log.
 */
export interface UsageEntry {
  jobId: string | null;
  requestId: string;
  keyId: string;
  userId: string | null;
  model: string;
  provider: string;
  /**
   * The channel id (`deepseek-1`) of the try that answered or failed last; null when no try reached
   * one (cache hits, cancels); absent in entries from workers older than this field.
   */
  channel?: string | null;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  status: number;
  cacheHit: boolean;
  kind: "sync" | "stream" | "job" | "ws" | "cache";
  createdAt: number;
}
