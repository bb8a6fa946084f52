import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createJobStore, newJobId } from "@llmgw/jobs";
import { createKeySessions } from "../src/services/key-sessions.js";
import { createRevokedKeyJobs } from "../src/services/revoked-key-jobs.js";

const prefix = `test-${randomUUID()}`;
const redis = new Redis(inject("redisUrl"));
const store = createJobStore(redis, { prefix, retentionSeconds: 3600 });

afterAll(() => redis.disconnect());

async function create(keyId: string): Promise<string> {
  const id = newJobId();
  await store.create({ id, model: "m", provider: "p", owner: { keyId, userId: null }, mode: "async" });
  return id;
}

describe("a revoked key's jobs", () => {
  it("pages through the whole index and cancels only the unfinished jobs, each once however many sweeps race", async () => {
    const keyId = "key_revoked";
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await create(keyId));
    const other = await create("key_other");
    // Two of them have ended already; one of those is the newest, at the head of the first page.
    await store.cancel(ids[0]);
    await store.start(ids[6], 1);
    await store.fail(ids[6], 1, { status: 502, error: { message: "x", type: "upstream_error", param: null, code: "upstream_error" } });

    const asked: string[] = [];
    const cancel = async (jobId: string) => {
      asked.push(jobId);
      return (await store.cancel(jobId)) !== null;
    };
    // Pages of 2 ids: the sweep has to follow the cursor four times.
    const here = createRevokedKeyJobs({ store, cancel, pageSize: 2 });
    const elsewhere = createRevokedKeyJobs({ store, cancel, pageSize: 3 });
    const [first, second, again] = await Promise.all([here.cancelAll(keyId), elsewhere.cancelAll(keyId), here.cancelAll(keyId)]);

    // Two instances racing end the five unfinished jobs once between them; a second call here joins the running sweep.
    expect(first + second).toBe(5);
    expect(again).toBe(first);
    expect(new Set(asked)).toEqual(new Set(ids.slice(1, 6)));
    const records = await store.getMany([...ids, other]);
    expect(records.map((record) => record?.status)).toEqual(["cancelled", "cancelled", "cancelled", "cancelled", "cancelled", "cancelled", "failed", "queued"]);
    // Nothing left: a later sweep asks nobody.
    asked.length = 0;
    expect(await here.cancelAll(keyId)).toBe(0);
    expect(asked).toEqual([]);
  });
});

describe("key sessions", () => {
  it("ends exactly the revoked key's open sessions, and one that opens just after the revocation", async () => {
    let now = 1_000;
    const sessions = createKeySessions({ rememberRevokedMs: 10_000, now: () => now });
    const ended: string[] = [];
    sessions.open("key_a", () => ended.push("a1"));
    const leaveA2 = sessions.open("key_a", () => ended.push("a2"));
    sessions.open("key_b", () => ended.push("b1"));
    leaveA2();
    expect(sessions.count()).toBe(2);

    expect(sessions.revoke("key_a")).toBe(1);
    expect(ended).toEqual(["a1"]);
    expect(sessions.count("key_a")).toBe(0);
    expect(sessions.count("key_b")).toBe(1);

    // A stream whose request authenticated just before the revocation opens just after it: ended at once.
    const late = new Promise<void>((resolve) => sessions.open("key_a", resolve));
    await late;
    expect(sessions.isRevoked("key_a")).toBe(true);
    now += 10_000;
    expect(sessions.isRevoked("key_a")).toBe(false);
  });
});
