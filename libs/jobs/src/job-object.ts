import type { JobObject, JobRecord } from "./types.js";

const toSeconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/** The client-facing job object of a record. */
export function toJobObject(record: JobRecord): JobObject {
  return {
    id: record.id,
    object: "job",
    status: record.status,
    model: record.model,
    created_at: toSeconds(record.createdAt) as number,
    started_at: toSeconds(record.startedAt),
    completed_at: toSeconds(record.completedAt),
    attempts: record.attempt,
    result: record.result,
    error: record.failure?.error ?? null,
    metadata: record.metadata,
  };
}
