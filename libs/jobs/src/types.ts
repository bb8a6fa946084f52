import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from "@llmgw/providers";
import type { ErrorObject } from "@llmgw/errors";
import type { JobEventType, JobStatus } from "./contract.js";
import type { OwnerBudgets } from "./spending.js";

/** How the job's creator waits for it; decides whether a retry may follow streamed chunks. */
export type JobMode = "sync-json" | "sync-stream" | "async";

/** Who owns a job: ids only, never a key or a key's hash. */
export interface JobOwner {
  keyId: string;
  userId: string | null;
}

/** The BullMQ payload of a completion job. */
export interface CompletionJobData {
  jobId: string;
  /** The client's request with `model` already the upstream name and `stream` removed. */
  request: ChatCompletionRequest;
  /** The model as the client named it, for the job object and usage. */
  model: string;
  provider: string;
  owner: JobOwner;
  /** The budgets of the owner's key and user at admission, when either has one: the alerts compare spending with them. */
  budgets?: OwnerBudgets;
  mode: JobMode;
  requestId: string;
  /** Where to store a successful result in the response cache, if anywhere. */
  cacheKey?: string;
  /** The URL told when the job ends (also on the record); its presence is what the worker checks. */
  webhook?: string;
  /** Channel ids whose tries of this job failed: the worker's next try goes elsewhere while it can. */
  avoidChannels?: string[];
  /** The owner key's `max_concurrent` at admission: at most this many of its jobs run at once (absent = no cap). */
  maxConcurrent?: number;
}

/** The BullMQ payload of a webhook delivery: the job is read when the delivery runs. */
export interface WebhookJobData {
  jobId: string;
}

/** A stored failure: the HTTP status the caller gets plus the OpenAI error object. */
export interface JobFailure {
  status: number;
  error: ErrorObject;
}

export interface JobRecord {
  id: string;
  status: JobStatus;
  model: string;
  provider: string;
  owner: JobOwner;
  mode: JobMode;
  /** The x-request-id of the request that created the job (null for records written before it existed). */
  requestId: string | null;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  attempt: number;
  result: ChatCompletion | null;
  failure: JobFailure | null;
  metadata: Record<string, unknown>;
  webhook: string | null;
}

/** The job as clients see it (CONTRACT section 4). */
export interface JobObject {
  id: string;
  object: "job";
  status: JobStatus;
  model: string;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  attempts: number;
  result: ChatCompletion | null;
  error: ErrorObject | null;
  metadata: Record<string, unknown>;
}

export interface JobEventDataByType {
  "job.queued": Record<string, never>;
  "job.started": { attempt: number };
  "job.chunk": ChatCompletionChunk;
  "job.completed": { result: ChatCompletion };
  "job.failed": JobFailure;
  "job.cancelled": Record<string, never>;
}

/** One entry of a job's event log; `id` is the Redis stream id, usable as Last-Event-ID. */
export type JobEvent = {
  [T in JobEventType]: { id: string; type: T; data: JobEventDataByType[T] };
}[JobEventType];
