import type { Redis } from "ioredis";
import type { JobKeys } from "./contract.js";

/** One finished request, as the usage log records it (ids only, never a key). */
export interface UsageEntry {
  jobId: string | null;
  requestId: string;
  keyId: string;
  userId: string | null;
  model: string;
  provider: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  status: number;
  cacheHit: boolean;
  kind: "sync" | "stream" | "job" | "ws" | "cache";
  createdAt: number;
}

const MAX_PENDING_ENTRIES = "1000000";

/**
 * Workers may run where the SQLite file is not, so they append usage to a Redis stream that
 * the API drains into the usage log.
 */
export async function appendUsage(redis: Redis, keys: JobKeys, entry: UsageEntry): Promise<void> {
  await redis.xadd(keys.usage, "MAXLEN", "~", MAX_PENDING_ENTRIES, "*", "entry", JSON.stringify(entry));
}
