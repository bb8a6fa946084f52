import { randomFillSync } from "node:crypto";

/** Random bytes are drawn 4 KB at a time (as crypto.randomUUID does): one system call per few hundred ids, not one per id. */
const entropy = Buffer.alloc(4096);
let used = entropy.length;

/** `bytes` cryptographically random bytes as base64url text (ids that must not be guessable). */
export function randomToken(bytes: number): string {
  if (used + bytes > entropy.length) {
    randomFillSync(entropy);
    used = 0;
  }
  used += bytes;
  return entropy.toString("base64url", used - bytes, used);
}

/** A random, unguessable job id (144 bits). */
export function newJobId(): string {
  return `job_${randomToken(18)}`;
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

/** Orders two stream ids ("ms-seq"), without allocating: compared as numbers of digits, then digit by digit. */
export function compareEventIds(a: string, b: string): number {
  const aDash = a.indexOf("-");
  const bDash = b.indexOf("-");
  return comparePart(a, 0, aDash, b, 0, bDash) || comparePart(a, aDash + 1, a.length, b, bDash + 1, b.length);
}

/** Compares two runs of decimal digits as numbers (a client's Last-Event-ID may have leading zeros). */
function comparePart(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): number {
  while (aTo - aFrom > 1 && a.charCodeAt(aFrom) === 48 /* 0 */) aFrom++;
  while (bTo - bFrom > 1 && b.charCodeAt(bFrom) === 48) bFrom++;
  if (aTo - aFrom !== bTo - bFrom) return aTo - aFrom < bTo - bFrom ? -1 : 1;
  for (let i = 0; i < aTo - aFrom; i++) {
    const difference = a.charCodeAt(aFrom + i) - b.charCodeAt(bFrom + i);
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  return 0;
}
