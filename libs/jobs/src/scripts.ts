import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { luaScript, type ScriptArgument } from "@llmgw/redis";

/** Lua lives in ../lua so that both src (tests) and dist (runtime) find it at the same relative path. */
function readLua(name: string): string {
  return readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), "utf8");
}

const script = (name: string, numberOfKeys: number) => ({ numberOfKeys, lua: luaScript(readLua(name)) });

const scripts = {
  llmgwAppendJobEvents: script("append-job-events", 6),
  llmgwCreateJob: script("create-job", 3),
  llmgwCountJobWaiters: script("count-job-waiters", 1),
  llmgwListOwnerJobs: script("list-owner-jobs", 1),
  llmgwChannelFailure: script("channel-failure", 1),
  llmgwChannelDisable: script("channel-disable", 1),
  llmgwFairPriority: script("fair-priority", 2),
  llmgwChannelProbe: script("channel-probe", 1),
  llmgwChannelSuccess: script("channel-success", 1),
  llmgwTakeBudgetAlerts: script("take-budget-alerts", 2),
  llmgwConcurrencyAcquire: script("concurrency-acquire", 3),
  llmgwConcurrencyPark: script("concurrency-park", 3),
  llmgwConcurrencyRelease: script("concurrency-release", 4),
};
// Two keys per job, so the number of keys comes with each call.
const appendChunksOfJobs = luaScript(readLua("append-chunks-of-jobs"));

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

/** The job scripts, run on this connection by EVALSHA (libs/redis lua-script.ts). */
export function jobScripts(redis: Redis): JobScripts {
  const bound = Object.fromEntries(
    Object.entries(scripts).map(([name, { numberOfKeys, lua }]) => [name, (...args: ScriptArgument[]) => lua.run(redis, numberOfKeys, args)]),
  );
  return {
    ...(bound as unknown as Omit<JobScripts, "llmgwAppendChunksOfJobs">),
    // Gathered per event-loop turn by chunk-batch.ts: sent at once, not held a turn more by auto-pipelining.
    llmgwAppendChunksOfJobs: (numberOfKeys, keys, args) => appendChunksOfJobs.runNow(redis, numberOfKeys, [...keys, ...args]) as Promise<(string | null)[]>,
  };
}
