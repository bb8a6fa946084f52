import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

/** Lua lives in ../lua so that both src (tests) and dist (runtime) find it at the same relative path. */
function readLua(name: string): string {
  return readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), "utf8");
}

const scripts = {
  llmgwAppendJobEvents: { numberOfKeys: 6, lua: readLua("append-job-events") },
  // Its number of keys comes first in each call (two per job).
  llmgwAppendChunksOfJobs: { lua: readLua("append-chunks-of-jobs") },
  llmgwCreateJob: { numberOfKeys: 3, lua: readLua("create-job") },
  llmgwCountJobWaiters: { numberOfKeys: 1, lua: readLua("count-job-waiters") },
  llmgwListOwnerJobs: { numberOfKeys: 1, lua: readLua("list-owner-jobs") },
  llmgwChannelFailure: { numberOfKeys: 1, lua: readLua("channel-failure") },
  llmgwChannelDisable: { numberOfKeys: 1, lua: readLua("channel-disable") },
  llmgwFairPriority: { numberOfKeys: 2, lua: readLua("fair-priority") },
  llmgwChannelProbe: { numberOfKeys: 1, lua: readLua("channel-probe") },
  llmgwChannelSuccess: { numberOfKeys: 1, lua: readLua("channel-success") },
  llmgwTakeBudgetAlerts: { numberOfKeys: 2, lua: readLua("take-budget-alerts") },
  llmgwConcurrencyAcquire: { numberOfKeys: 3, lua: readLua("concurrency-acquire") },
  llmgwConcurrencyPark: { numberOfKeys: 3, lua: readLua("concurrency-park") },
  llmgwConcurrencyRelease: { numberOfKeys: 4, lua: readLua("concurrency-release") },
};

export interface JobScripts {
  llmgwAppendJobEvents(...args: (string | number)[]): Promise<string | null>;
  llmgwAppendChunksOfJobs(numberOfKeys: number, keys: string[], args: string[]): Promise<(string | null)[]>;
  llmgwCreateJob(...args: (string | number)[]): Promise<[number, string]>;
  llmgwCountJobWaiters(recordKey: string, delta: number, notify: string): Promise<number | null>;
  llmgwListOwnerJobs(indexKey: string, afterJobId: string, limit: number): Promise<string[]>;
  llmgwChannelFailure(stateKey: string, now: number, failuresToCool: number, cooldownMs: number, retryAfterMs: number): Promise<[number, number]>;
  llmgwChannelDisable(stateKey: string, reason: string, now: number): Promise<number>;
  llmgwFairPriority(fairShareKey: string, prioritizedKey: string, keyId: string, maxPriority: number): Promise<number>;
  llmgwChannelProbe(stateKey: string, now: number, leaseMs: number): Promise<number>;
  llmgwChannelSuccess(stateKey: string, now: number, latencyMs: number): Promise<number>;
  llmgwTakeBudgetAlerts(outboxKey: string, alertsKey: string, now: number, leaseMs: number, limit: number): Promise<string[]>;
  llmgwConcurrencyAcquire(runningKey: string, parkedKey: string, jobKey: string, queueJobId: string, cap: number, leaseMs: number): Promise<[number, number]>;
  llmgwConcurrencyPark(
    runningKey: string,
    parkedKey: string,
    jobKey: string,
    queueJobId: string,
    cap: number,
    leaseMs: number,
    urgent: "1" | "0",
    parkedTtlMs: number,
  ): Promise<number>;
  llmgwConcurrencyRelease(
    runningKey: string,
    parkedKey: string,
    delayedKey: string,
    lockKey: string,
    queueJobId: string,
    token: string,
    leaseMs: number,
    cap: number | "",
  ): Promise<string[]>;
}

/** Registers the job scripts on a connection once (ioredis then calls them by SHA). */
export function withJobScripts(redis: Redis): Redis & JobScripts {
  for (const [name, definition] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, definition);
  }
  return redis as Redis & JobScripts;
}
