import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createJobStore, newJobId } from "@llmgw/jobs";

const prefix = `test-${randomUUID()}`;
const redis = new Redis(inject("redisUrl"));
const RETENTION = 3600;
const PENDING = 7200;
const store = createJobStore(redis, { prefix, retentionSeconds: RETENTION, pendingTtlSeconds: PENDING });

afterAll(() => redis.disconnect());

const create = (keyId: string, createdAt?: number, id = newJobId()) =>
  store.create({ id, model: "m", provider: "p", owner: { keyId, userId: null }, mode: "async", requestId: "req_1", createdAt }).then(() => id);

describe("retention: Redis stays bounded", () => {
  it("gives a pending job its pending time, and a finished one the retention time from its end", async () => {
    const id = await create("key_ttl");
    expect(await redis.ttl(store.keys.record(id))).toBeGreaterThan(PENDING - 5);
    expect(await redis.ttl(store.keys.events(id))).toBeGreaterThan(PENDING - 5);
    await store.start(id, 1);
    await store.fail(id, 1, { status: 502, error: { message: "x", type: "upstream_error", param: null, code: "upstream_error" } });
    for (const key of [store.keys.record(id), store.keys.events(id)]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(RETENTION - 5);
      expect(ttl).toBeLessThanOrEqual(RETENTION);
    }
    expect((await store.get(id))?.requestId).toBe("req_1");
  });

  it("keeps the owner's index as long as its longest-lived record, and trims ids older than any record can be", async () => {
    const now = Date.now();
    const ancient = await create("key_trim", now - (PENDING + RETENTION + 60) * 1000);
    const recent = await create("key_trim", now - 1000);
    const index = store.keys.ownerJobs("key_trim");
    expect(await redis.ttl(index)).toBeGreaterThan(PENDING + RETENTION - 5);
    // The next create sweeps what can no longer have a record.
    const latest = await create("key_trim", now);
    expect(await redis.zrange(index, 0, "-1")).toEqual([recent, latest]);
    expect(await redis.zscore(index, ancient)).toBeNull();
  });

  it("pages an owner's jobs by rank: ties in the creation millisecond are neither skipped nor repeated", async () => {
    const at = Date.now();
    const ids = await Promise.all(Array.from({ length: 9 }, () => create("key_ties", at)));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.listOwnerJobIds("key_ties", 4, after);
      if (page.length === 0) break;
      seen.push(...page);
      after = page.at(-1);
    }
    expect(seen.sort()).toEqual([...ids].sort());
    expect(await store.listOwnerJobIds("key_ties", 4, "job_notinthisindex0000000")).toEqual([]);
  });

  it("reads many records in one round trip, null where one is gone, and forgets ids on request", async () => {
    const kept = await create("key_many");
    const gone = await create("key_many");
    await redis.del(store.keys.record(gone));
    const records = await store.getMany([kept, gone]);
    expect(records.map((record) => record?.id ?? null)).toEqual([kept, null]);
    await store.forgetOwnerJobIds("key_many", [gone]);
    expect(await store.listOwnerJobIds("key_many", 10)).toEqual([kept]);
  });
});
