import { randomBytes } from "node:crypto";

/** A random, unguessable job id (144 bits). */
export function newJobId(): string {
  return `job_${randomBytes(18).toString("base64url")}`;
}

const jobIdPattern = /^job_[A-Za-z0-9_-]{10,64}$/;

/** Ids from URLs and frames are checked before they become part of a Redis key. */
export function isJobId(value: unknown): value is string {
  return typeof value === "string" && jobIdPattern.test(value);
}

const eventIdPattern = /^\d{1,20}-\d{1,20}$/;

/** A Redis stream id as used for Last-Event-ID / `after`. */
export function isEventId(value: unknown): value is string {
  return typeof value === "string" && eventIdPattern.test(value);
}

/** Orders two stream ids ("ms-seq"). */
export function compareEventIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split("-").map(BigInt);
  const [bMs, bSeq] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}
