import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { jobKeys } from "@llmgw/jobs";
import { jobScripts } from "../src/scripts.js";

// The three scripts alone, on plain keys standing for BullMQ's (a job's hash, its lock, the delayed set).
const prefix = `test-${randomUUID()}`;
const redis = new Redis(inject("redisUrl"));
const scripts = jobScripts(redis);
const keys = jobKeys(prefix);
const LEASE_MS = 60_000;

afterAll(() => redis.disconnect());

/** A key of its own per test, and the BullMQ-like keys the scripts are given. */
function slotsOf(keyId = randomUUID()) {
  const running = keys.running(keyId);
  const parked = keys.parked(keyId);
  const delayed = `${prefix}:bull:delayed:${keyId}`;
  const jobKey = (id: string) => `${prefix}:bull:${id}`;
  return {
    running,
    parked,
    delayed,
    jobKey,
    acquire: (id: string, cap: number, leaseMs = LEASE_MS) => scripts.llmgwConcurrencyAcquire(running, parked, jobKey(id), id, cap, leaseMs),
    /** As concurrency-gate.ts parks: the job is in the delayed set first. */
    park: async (id: string, cap: number, urgent: "1" | "0" = "0") => {
      await redis.hset(jobKey(id), "name", "completion");
      await redis.zadd(delayed, Date.now() + LEASE_MS, id);
      return scripts.llmgwConcurrencyPark(running, parked, jobKey(id), id, cap, LEASE_MS, urgent, 2 * LEASE_MS);
    },
    release: (id: string, cap: number | "", token = "") =>
      scripts.llmgwConcurrencyRelease(running, parked, delayed, `${jobKey(id)}:lock`, id, token, LEASE_MS, cap),
    holders: () => redis.zrange(running, "0", "-1"),
    line: () => redis.zrange(parked, "0", "-1"),
  };
}

/** Waits for a condition that time alone brings about (a lease running out), polling. */
async function waitFor<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("acquire", () => {
  it("gives out at most `cap` slots; a job holding one renews it, even at the cap", async () => {
    const slots = slotsOf();
    expect(await slots.acquire("j1", 2)).toEqual([1, 0]);
    expect(await slots.acquire("j2", 2)).toEqual([1, 0]);
    expect(await slots.acquire("j3", 2)).toEqual([0, 0]);
    const before = Number(await redis.zscore(slots.running, "j1"));
    // A retry or a stall recovery of j1: its own lease, renewed, not a third slot.
    expect(await slots.acquire("j1", 2)).toEqual([1, 0]);
    expect(Number(await redis.zscore(slots.running, "j1"))).toBeGreaterThanOrEqual(before);
    expect((await slots.holders()).sort()).toEqual(["j1", "j2"]);
    // The set lives as long as its longest lease, no longer.
    const ttl = await redis.pttl(slots.running);
    expect(ttl).toBeGreaterThan(LEASE_MS - 5000);
    expect(ttl).toBeLessThanOrEqual(LEASE_MS);
  });

  it("drops the lease of a dead worker's try once it ran out", async () => {
    const slots = slotsOf();
    expect(await slots.acquire("dead", 1, 150)).toEqual([1, 0]);
    expect(await slots.acquire("next", 1)).toEqual([0, 0]);
    expect(await waitFor(() => slots.acquire("next", 1), ([ok]) => ok === 1)).toEqual([1, 0]);
    expect(await slots.holders()).toEqual(["next"]);
  });

  it("reports how many of the job's starts were parks, and takes it out of the line", async () => {
    const slots = slotsOf();
    await slots.acquire("a", 1);
    expect(await slots.park("b", 1)).toBe(0);
    expect(await slots.park("b", 1)).toBe(0);
    expect(await redis.hget(slots.jobKey("b"), "llmgw:parks")).toBe("2");
    await redis.zrem(slots.running, "a");
    expect(await slots.acquire("b", 1)).toEqual([1, 2]);
    expect(await slots.line()).toEqual([]);
  });
});

describe("park", () => {
  it("lines jobs up in order of parking, synchronous calls first, and a job parked again keeps its place", async () => {
    const slots = slotsOf();
    await slots.acquire("running", 1);
    expect(await slots.park("async-1", 1)).toBe(0);
    expect(await slots.park("async-2", 1)).toBe(0);
    expect(await slots.park("sync-1", 1, "1")).toBe(0);
    expect(await slots.park("async-1", 1)).toBe(0);
    expect(await slots.park("sync-2", 1, "1")).toBe(0);
    expect(await slots.line()).toEqual(["sync-1", "sync-2", "async-1", "async-2"]);
    expect(await redis.pttl(slots.parked)).toBeGreaterThan(LEASE_MS);
  });

  it("answers `promote now`, with the slot reserved, when a slot freed between the failed acquire and the park", async () => {
    const slots = slotsOf();
    await slots.acquire("other", 1);
    expect(await slots.acquire("late", 1)).toEqual([0, 0]);
    expect(await slots.release("other", 1)).toEqual([]); // nobody parked yet: nobody to wake
    expect(await slots.park("late", 1)).toBe(1);
    expect(await slots.holders()).toEqual(["late"]);
    expect(await slots.line()).toEqual([]);
    // Its next start finds the reservation, whoever else came meanwhile.
    expect(await slots.acquire("fresh", 1)).toEqual([0, 0]);
    expect(await slots.acquire("late", 1)).toEqual([1, 1]);
  });
});

describe("release", () => {
  it("hands the slot to the first parked job still delayed, skipping the ones gone", async () => {
    const slots = slotsOf();
    await slots.acquire("r", 1);
    for (const id of ["p1", "p2", "p3"]) expect(await slots.park(id, 1)).toBe(0);
    await redis.zrem(slots.delayed, "p1"); // cancelled: BullMQ removed it
    expect(await slots.release("r", 1)).toEqual(["p2"]);
    expect(await slots.holders()).toEqual(["p2"]);
    expect(await slots.line()).toEqual(["p3"]);
    // p2's start finds its reservation; a newcomer does not take it.
    expect(await slots.acquire("newcomer", 1)).toEqual([0, 0]);
    expect(await slots.acquire("p2", 1)).toEqual([1, 1]);
  });

  it("wakes as many jobs as there are free slots, leases that ran out included", async () => {
    const slots = slotsOf();
    await slots.acquire("done", 3);
    await slots.acquire("dead", 3, 100);
    await slots.acquire("busy", 3);
    for (const id of ["p1", "p2", "p3"]) expect(await slots.park(id, 3)).toBe(0);
    const deadEnd = Number(await redis.zscore(slots.running, "dead"));
    await waitFor(async () => Date.now(), (now) => now > deadEnd + 5);
    expect(await slots.release("done", 3)).toEqual(["p1", "p2"]);
    expect((await slots.holders()).sort()).toEqual(["busy", "p1", "p2"]);
  });

  it("without the cap (a cancel) wakes one job, and only when it freed a slot", async () => {
    const slots = slotsOf();
    await slots.acquire("r", 1);
    await slots.park("p1", 1);
    expect(await slots.release("not-holding", "")).toEqual([]);
    expect(await slots.line()).toEqual(["p1"]);
    expect(await slots.release("r", "")).toEqual(["p1"]);
  });

  it("leaves the slot alone while another try runs the job (taken over after a stall)", async () => {
    const slots = slotsOf();
    await slots.acquire("j", 1);
    await slots.park("p", 1);
    await redis.set(`${slots.jobKey("j")}:lock`, "token-of-the-new-try");
    expect(await slots.release("j", 1, "token-of-the-old-try")).toEqual([]);
    expect(await slots.holders()).toEqual(["j"]);
    expect(await slots.release("j", 1, "token-of-the-new-try")).toEqual(["p"]);
    expect(await slots.holders()).toEqual(["p"]);
  });
});
