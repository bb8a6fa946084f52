import type { Redis } from "ioredis";
import { GatewayError } from "@llmgw/errors";
import { jsonTextOf, type ChatCompletion, type ChatCompletionChunk } from "@llmgw/providers";
import { completedEventText, loggedEvent } from "./logged-event.js";
import { jobKeys, type JobEventType, type JobStatus } from "./contract.js";
import { createChunkBatch } from "./chunk-batch.js";
import { jobScripts } from "./scripts.js";
import { spendingSpec, type OwnerBudgets } from "./spending.js";
import type { UsageEntry } from "./usage-stream.js";
import type { JobEvent, JobFailure, JobMode, JobOwner, JobRecord } from "./types.js";

export interface JobStoreOptions {
  prefix: string;
  /** How long a finished job and its log stay readable. */
  retentionSeconds: number;
  /** How long an unfinished job may wait before Redis forgets it. */
  pendingTtlSeconds?: number;
  /** Approximate bound of each job's event log. */
  maxEvents?: number;
}

export interface NewJob {
  id: string;
  model: string;
  provider: string;
  owner: JobOwner;
  mode: JobMode;
  /** The x-request-id of the creating request, kept for the usage log of a job cancelled before a worker saw it. */
  requestId?: string;
  metadata?: Record<string, unknown>;
  webhook?: string;
  createdAt?: number;
  /** The creating API process's notify channel: its final event is published there too. */
  notify?: string;
}

/** A new job's record is what a read of it would return (nothing is read back); an existing job's status. */
export type CreateJobOutcome = { created: true; record: JobRecord } | { created: false; status: JobStatus };

/** JSON text that append() writes as it is. */
class SerialisedJson {
  constructor(readonly text: string) {}
}

/**
 * The largest metadata a job record holds, as UTF-8 JSON. The API's schema bounds its shape (16
 * keys, 512-character values); this bounds what a record costs in a `noeviction` Redis whatever
 * the caller (values full of escapes or 4-byte characters are refused here).
 */
export const MAX_METADATA_JSON_BYTES = 16 * 1024;

/** Events read from a job's log per round trip: a follower's replay pages, a catch-up's. */
export const JOB_LOG_PAGE_SIZE = 500;

const KEEP_EXPIRY = "0";
const NO_FENCE = "";

/** The job records and event logs in Redis, shared by API and workers. */
export function createJobStore(redis: Redis, options: JobStoreOptions) {
  const scripts = jobScripts(redis);
  const keys = jobKeys(options.prefix);
  const retention = String(options.retentionSeconds);
  const pendingTtlSeconds = options.pendingTtlSeconds ?? 7 * 86_400;
  const pendingTtl = String(pendingTtlSeconds);
  // A record lives at most its pending time and then the retention after its end.
  const longestRecordSeconds = pendingTtlSeconds + options.retentionSeconds;
  const maxEvents = options.maxEvents ?? 20_000;
  const chunkBatch = createChunkBatch(scripts, maxEvents);

  interface AppendOptions {
    fields?: Record<string, string | number>;
    /** The attempt that must still own the job; undefined = whatever attempt runs. */
    fence?: number;
    /** A terminal event: the record and log then live for the retention time. */
    terminal?: boolean;
    usage?: UsageEntry;
    /** The owner's budgets, for the alerts of the spending added with `usage`. */
    budgets?: OwnerBudgets;
  }

  /** Events as [type, data]; data already serialised stays as it is (a result written twice is serialised once). */
  async function append(jobId: string, events: [JobEventType, unknown][], options: AppendOptions): Promise<string | null> {
    const pairs = Object.entries(options.fields ?? {}).flatMap(([field, value]) => [field, String(value)]);
    return scripts.llmgwAppendJobEvents(
      keys.record(jobId),
      keys.events(jobId),
      keys.usage,
      keys.webhookOutbox,
      keys.budgetAlertOutbox,
      keys.budgetAlerts,
      keys.eventChannel(jobId),
      maxEvents,
      options.terminal ? retention : KEEP_EXPIRY,
      options.fence === undefined ? NO_FENCE : String(options.fence),
      options.usage ? JSON.stringify(options.usage) : "",
      options.usage ? spendingOf(options.usage, options.budgets) : "",
      events.length,
      // A chunk goes into the log as the provider wrote it, when its text was kept.
      ...events.flatMap(([type, data]) => [type, data instanceof SerialisedJson ? data.text : jsonTextOf(data)]),
      ...pairs,
    );
  }

  /** A request's spending: what its provider counted; cache hits and cancels spend nothing. */
  const spendingOf = (usage: UsageEntry, budgets: OwnerBudgets | undefined) =>
    usage.cacheHit ? "" : spendingSpec(options.prefix, { keyId: usage.keyId, userId: usage.userId }, usage.promptTokens + usage.completionTokens, budgets, usage.createdAt);

  return {
    keys,

    /** Creates the record and its job.queued event, or reports the existing job with that id. */
    async create(job: NewJob): Promise<CreateJobOutcome> {
      const createdAt = job.createdAt ?? Date.now();
      const metadata = JSON.stringify(job.metadata ?? {});
      const metadataBytes = Buffer.byteLength(metadata, "utf8");
      if (metadataBytes > MAX_METADATA_JSON_BYTES) {
        throw new GatewayError("invalid_request", {
          message: `Invalid value for 'metadata': its JSON must NOT be larger than ${MAX_METADATA_JSON_BYTES} bytes (16 KiB), got ${metadataBytes}.`,
          param: "metadata",
        });
      }
      const fields: Record<string, string> = {
        id: job.id,
        status: "queued",
        model: job.model,
        provider: job.provider,
        owner: job.owner.keyId,
        user: job.owner.userId ?? "",
        mode: job.mode,
        created_at: String(createdAt),
        attempt: "0",
        waiters: "1",
        metadata,
      };
      if (job.requestId) fields.request_id = job.requestId;
      if (job.webhook) fields.webhook = job.webhook;
      if (job.notify) fields.notify = job.notify;
      const [created, status] = await scripts.llmgwCreateJob(
        keys.record(job.id),
        keys.events(job.id),
        keys.ownerJobs(job.owner.keyId),
        keys.eventChannel(job.id),
        pendingTtl,
        job.id,
        createdAt,
        longestRecordSeconds,
        createdAt - longestRecordSeconds * 1000,
        ...Object.entries(fields).flat(),
      );
      return created === 1 ? { created: true, record: parseRecord(fields) } : { created: false, status: status as JobStatus };
    },

    /**
     * Counts synchronous callers sharing the job: +1 on join, -1 on leave; null when it is gone.
     * A joiner that names its notify channel gets null too when the job has already ended.
     */
    countWaiters(jobId: string, delta: 1 | -1, notify = ""): Promise<number | null> {
      return scripts.llmgwCountJobWaiters(keys.record(jobId), delta, notify);
    },

    async get(jobId: string): Promise<JobRecord | null> {
      const hash = await redis.hgetall(keys.record(jobId));
      return hash.status ? parseRecord(hash) : null;
    },

    /** Several records in one round trip, in the order asked; null where a record is gone. */
    async getMany(jobIds: string[]): Promise<(JobRecord | null)[]> {
      if (jobIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const jobId of jobIds) pipeline.hgetall(keys.record(jobId));
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, hash]) => {
        if (error) throw error;
        const fields = hash as Record<string, string>;
        return fields.status ? parseRecord(fields) : null;
      });
    },

    /** Starts attempt `attempt`; null when the job already ended (cancelled while queued). */
    start(jobId: string, attempt: number): Promise<string | null> {
      const fields = { status: "running", attempt, started_at: Date.now() };
      return append(jobId, [["job.started", { attempt }]], { fields });
    },

    /** Appends chunks of attempt `attempt`, in order; null when that attempt no longer owns the job. */
    appendChunks(jobId: string, attempt: number, chunks: ChatCompletionChunk[]): Promise<string | null> {
      // A chunk goes into the log as the provider wrote it, when its text was kept.
      const jobKeys = { record: keys.record(jobId), events: keys.events(jobId), channel: keys.eventChannel(jobId) };
      return chunkBatch.append(jobKeys, attempt, chunks.map(jsonTextOf));
    },

    /**
     * Ends the job with its result (and its usage entry, written once with it). `tail` holds the
     * try's last chunks not logged yet, written just before the completed event in the same call.
     */
    complete(
      jobId: string,
      attempt: number,
      result: ChatCompletion,
      usage?: UsageEntry,
      tail: ChatCompletionChunk[] = [],
      budgets?: OwnerBudgets,
    ): Promise<string | null> {
      // A JSON answer as the provider wrote it (when its text was kept); an assembled stream serialised.
      const resultJson = jsonTextOf(result);
      const fields = { status: "succeeded", result: resultJson, completed_at: Date.now() };
      const events: [JobEventType, unknown][] = tail.map((chunk) => ["job.chunk", chunk]);
      events.push(["job.completed", new SerialisedJson(completedEventText(resultJson))]);
      return append(jobId, events, { fields, fence: attempt, terminal: true, usage, budgets });
    },

    /** Ends the job as failed; `attempt` undefined ends it whatever attempt runs (stall limit, enqueue failure). */
    fail(jobId: string, attempt: number | undefined, failure: JobFailure, usage?: UsageEntry): Promise<string | null> {
      const fields = { status: "failed", error: JSON.stringify(failure), completed_at: Date.now() };
      return append(jobId, [["job.failed", failure]], { fields, fence: attempt, terminal: true, usage });
    },

    /** Ends the job as cancelled (and writes its usage entry with it); null when it had already ended. */
    cancel(jobId: string, usage?: UsageEntry): Promise<string | null> {
      const fields = { status: "cancelled", completed_at: Date.now() };
      return append(jobId, [["job.cancelled", {}]], { fields, terminal: true, usage });
    },

    /** Events after `afterId` (all without it), oldest first, a page at most. */
    async readEventsAfter(jobId: string, afterId?: string, count = JOB_LOG_PAGE_SIZE): Promise<JobEvent[]> {
      const start = afterId ? `(${afterId}` : "-";
      const entries = await redis.xrange(keys.events(jobId), start, "+", "COUNT", count);
      return entries.map(([id, fields]) => parseEvent(id, fields));
    },

    /** The newest event of the job's log, or null. */
    async readLastEvent(jobId: string): Promise<JobEvent | null> {
      const [entry] = await redis.xrevrange(keys.events(jobId), "+", "-", "COUNT", 1);
      return entry ? parseEvent(entry[0], entry[1]) : null;
    },

    /** The owner's job ids, newest first, optionally those after the job `afterJobId` in that order. */
    listOwnerJobIds(keyId: string, limit: number, afterJobId?: string): Promise<string[]> {
      return scripts.llmgwListOwnerJobs(keys.ownerJobs(keyId), afterJobId ?? "", limit);
    },

    /** Drops ids whose records have expired from the owner's index. */
    async forgetOwnerJobIds(keyId: string, jobIds: string[]): Promise<void> {
      if (jobIds.length > 0) await redis.zrem(keys.ownerJobs(keyId), ...jobIds);
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;

function parseEvent(id: string, fields: string[]): JobEvent {
  const values: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) values[fields[i]] = fields[i + 1];
  return loggedEvent(id, values.type as JobEventType, values.data);
}

const numberOrNull = (value: string | undefined) => (value ? Number(value) : null);

function parseRecord(hash: Record<string, string>): JobRecord {
  return {
    id: hash.id,
    status: hash.status as JobStatus,
    model: hash.model,
    provider: hash.provider,
    owner: { keyId: hash.owner, userId: hash.user || null },
    mode: hash.mode as JobMode,
    requestId: hash.request_id || null,
    createdAt: Number(hash.created_at),
    startedAt: numberOrNull(hash.started_at),
    completedAt: numberOrNull(hash.completed_at),
    attempt: Number(hash.attempt ?? 0),
    result: hash.result ? JSON.parse(hash.result) : null,
    failure: hash.error ? JSON.parse(hash.error) : null,
    metadata: hash.metadata ? JSON.parse(hash.metadata) : {},
    webhook: hash.webhook ?? null,
  };
}
