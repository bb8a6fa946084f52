import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createChannelHealth, isChannelAvailable, needsProbe } from "@llmgw/jobs";

const redis = new Redis(inject("redisUrl"));
const prefix = `test-${randomUUID()}`;
let clock = 1_000_000;
const health = createChannelHealth(redis, prefix, { failuresToCool: 2, cooldownMs: 5000 }, () => clock);
let id = "";

afterAll(() => redis.disconnect());
beforeEach(() => {
  id = `c-${randomUUID()}`;
});

const state = async () => (await health.read([id])).get(id);

async function coolDown() {
  await health.recordFailure(id);
  expect(await health.recordFailure(id)).toEqual({ fails: 2, coolUntil: clock + 5000 });
}

describe("channel health: cooldown and the one probe after it", () => {
  it("keeps every try off a cooling channel, then lets exactly one probe it when the cooldown ends", async () => {
    await coolDown();
    expect(isChannelAvailable(await state(), clock)).toBe(false);
    expect(await health.claimProbe(id)).toBe(false);

    clock += 5000;
    expect(needsProbe(await state(), clock)).toBe(true);
    const claims = await Promise.all(Array.from({ length: 10 }, () => health.claimProbe(id)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(isChannelAvailable(await state(), clock)).toBe(false);
  });

  it("is healthy for everyone after the probe succeeds", async () => {
    await coolDown();
    clock += 5000;
    expect(await health.claimProbe(id)).toBe(true);
    await health.recordSuccess(id, 120);
    const after = await state();
    expect(after).toMatchObject({ fails: 0, coolUntil: 0, probeUntil: 0, requests: 1, latencyMs: 120 });
    expect(needsProbe(after, clock)).toBe(false);
    expect(await Promise.all([health.claimProbe(id), health.claimProbe(id)])).toEqual([true, true]);
  });

  it("cools down again at once when the probe fails, and ends the probe", async () => {
    await coolDown();
    clock += 5000;
    expect(await health.claimProbe(id)).toBe(true);
    expect(await health.recordFailure(id)).toEqual({ fails: 3, coolUntil: clock + 5000 });
    expect(await state()).toMatchObject({ probeUntil: 0, errors: 3 });
    expect(await health.claimProbe(id)).toBe(false);
  });

  it("lets another try probe when the prober never reports (its lease of one cooldown runs out)", async () => {
    await coolDown();
    clock += 5000;
    expect(await health.claimProbe(id)).toBe(true);
    clock += 4999;
    expect(await health.claimProbe(id)).toBe(false);
    clock += 1;
    expect(await health.claimProbe(id)).toBe(true);
  });

  it("does not cut a cooldown short when a try that began before it succeeds", async () => {
    await coolDown();
    await health.recordSuccess(id, 50);
    expect(await state()).toMatchObject({ fails: 0, coolUntil: clock + 5000 });
    expect(await health.claimProbe(id)).toBe(false);
  });

  it("never lets a disabled channel be probed; enabling clears the probe too", async () => {
    await coolDown();
    clock += 5000;
    expect(await health.claimProbe(id)).toBe(true);
    expect(await health.disable(id, "admin")).toBe(true);
    expect(await health.claimProbe(id)).toBe(false);
    await health.enable(id);
    expect(await state()).toMatchObject({ disabled: null, coolUntil: 0, probeUntil: 0, fails: 0 });
    expect(await health.claimProbe(id)).toBe(true);
  });
});
