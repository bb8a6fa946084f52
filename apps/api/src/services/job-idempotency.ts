import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { luaScript } from "@llmgw/redis";
import { canonicalJson } from "@llmgw/cache";
import type { JobKeys } from "@llmgw/jobs";

/** What one Idempotency-Key of one API key stands for: the job it created and the body it came with. */
export interface IdempotencyRecord {
  jobId: string;
  /** SHA-256 of the canonical JSON of the submitted body. */
  bodyHash: string;
  /** When it was reserved (ms): a reservation whose job never appeared is given up after a grace time. */
  reservedAt: number;
}

export type Reservation =
  | { kind: "reserved"; record: IdempotencyRecord }
  | { kind: "existing"; record: IdempotencyRecord; raw: string };

export const IDEMPOTENCY_TTL_SECONDS = 86_400;
const acceptedKey = /^[\x21-\x7e]{1,255}$/;

/** Printable ASCII without spaces, 1 to 255 characters (as Stripe accepts). */
export const isIdempotencyKey = (value: string) => acceptedKey.test(value);

/** The hash two submits are compared by: key order and whitespace do not matter, values do. */
export function bodyHash(body: unknown): string {
  return createHash("sha256").update(canonicalJson(body)).digest("hex");
}

// Both src/services and dist/services sit two levels below apps/api, where lua/ lives.
const swapScript = luaScript(readFileSync(new URL("../../lua/swap-idempotency-key.lua", import.meta.url), "utf8"));

/**
 * Idempotency-Key reservations in Redis: `SET NX` decides atomically which of any number of
 * parallel submits creates the job; the others read the reservation and answer with its job.
 */
export function createJobIdempotency(options: { redis: Redis; keys: JobKeys; ttlSeconds?: number }) {
  const ttl = options.ttlSeconds ?? IDEMPOTENCY_TTL_SECONDS;
  const { redis } = options;
  const swap = async (key: string, expected: string, replacement: string) => (await swapScript.run(redis, 1, [key, expected, replacement, ttl])) === 1;
  const keyOf = (keyId: string, idempotencyKey: string) => options.keys.idempotency(keyId, idempotencyKey);

  return {
    /** Reserves the key for `record`, or returns the reservation that was there first. */
    async reserve(keyId: string, idempotencyKey: string, record: IdempotencyRecord): Promise<Reservation> {
      const key = keyOf(keyId, idempotencyKey);
      for (let tries = 0; tries < 5; tries++) {
        if ((await redis.set(key, serialise(record), "EX", ttl, "NX")) === "OK") return { kind: "reserved", record };
        const raw = await redis.get(key);
        // It expired or was released between the two commands: try again.
        if (raw !== null) return { kind: "existing", record: JSON.parse(raw) as IdempotencyRecord, raw };
      }
      throw new Error("Idempotency-Key reservation kept changing; giving up");
    },

    /** Takes over a reservation whose job never appeared; false when someone else changed it first. */
    async replace(keyId: string, idempotencyKey: string, raw: string, record: IdempotencyRecord): Promise<boolean> {
      return swap(keyOf(keyId, idempotencyKey), raw, serialise(record));
    },

    /** Frees our own reservation after the submit failed, so a retry with the same key can succeed. */
    async release(keyId: string, idempotencyKey: string, record: IdempotencyRecord): Promise<void> {
      await swap(keyOf(keyId, idempotencyKey), serialise(record), "");
    },
  };
}

export type JobIdempotency = ReturnType<typeof createJobIdempotency>;

function serialise(record: IdempotencyRecord): string {
  return JSON.stringify({ jobId: record.jobId, bodyHash: record.bodyHash, reservedAt: record.reservedAt });
}
