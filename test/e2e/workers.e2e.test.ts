import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createJobStore } from "@llmgw/jobs";
import { loremWords, type GatewayStack } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";
import { errorOf } from "./support/json-bodies.js";

// Workers die (SIGKILL) and stop (SIGTERM) in the middle of jobs; nothing accepted is lost.
let stack: MockedGateway;
let gateway: GatewayStack;
let redis: Redis;
let store: ReturnType<typeof createJobStore>;

beforeAll(async () => {
  stack = await startMockedGateway({
    env: { RATE_LIMIT_ENABLED: "false", CACHE_ENABLED: "false", WORKER_LOCK_MS: "1500", SYNC_TIMEOUT_MS: "1500" },
  });
  gateway = stack.gateway;
  redis = new Redis(inject("redisUrl"));
  store = createJobStore(redis, { prefix: stack.prefix, retentionSeconds: 3600 });
});

afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
});

const post = (content: string) => stack.complete({ model: "deepseek-chat", messages: [{ role: "user", content }] });
const callsWith = (tag: string) => stack.callsWith(tag);

async function waitForStatus(jobId: string, status: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const record = await store.get(jobId);
    if (record?.status === status) return record;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is ${record?.status}, not ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("the synchronous deadline", () => {
  it("answers 504 with the job id after SYNC_TIMEOUT_MS, and the job carries on to its result", async () => {
    const tag = randomUUID();
    const response = await post(`${tag} [[mock:delay=2500]]`);
    expect(response.status).toBe(504);
    expect(response.headers.get("x-should-retry")).toBe("false");
    const jobId = response.headers.get("x-job-id");
    expect(jobId).toMatch(/^job_/);
    expect(await errorOf(response)).toMatchObject({ code: "sync_timeout", type: "timeout_error", job_id: jobId });
    const record = await waitForStatus(jobId!, "succeeded");
    expect(record.result?.choices[0].message.content).toContain(tag);
  });
});

describe("a worker killed in the middle of a job", () => {
  it("hands the job to another worker, which completes it; the dead try's late writes are fenced off", { timeout: 60_000 }, async () => {
    const tag = randomUUID();
    const [victim] = gateway.workers;
    // Streamed, so the job id arrives with the first chunk while the only worker is mid-answer.
    const response = await stack.complete({
      model: "deepseek-chat",
      stream: true,
      messages: [{ role: "user", content: `${tag} [[mock:words=40,chunk_delay=40]]` }],
    });
    const jobId = response.headers.get("x-job-id")!;
    const streamed = response.text();
    await gateway.addWorker();
    await victim.stop("SIGKILL");
    // The SSE caller had chunks: it is told the answer broke instead of getting text twice.
    expect(await streamed).toMatch(/"code":"upstream_error"/);
    const record = await waitForStatus(jobId, "succeeded", 30_000);
    expect(record.result?.choices[0].message.content).toBe(loremWords(40));
    const events = await store.readEventsAfter(jobId);
    const starts = events.filter((event) => event.type === "job.started").map((event) => (event.data as { attempt: number }).attempt);
    expect(starts).toEqual([1, 2]);
    expect(events.filter((event) => event.type === "job.completed")).toHaveLength(1);
    expect(callsWith(tag)).toBe(2);
  });
});

describe("a worker asked to stop (SIGTERM)", () => {
  it("takes no new jobs, finishes the one in flight, and exits 0", { timeout: 60_000 }, async () => {
    const tag = randomUUID();
    const running = gateway.workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
    expect(running).toHaveLength(1);
    const [stopping] = running;
    const pending = post(`${tag} [[mock:words=20,chunk_delay=30]]`);
    while (callsWith(tag) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const other = await gateway.addWorker();
    const exited = stopping.stop("SIGTERM");
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await exited).toBe(0);
    const record = await waitForStatus(response.headers.get("x-job-id")!, "succeeded");
    expect(record.attempt).toBe(1);
    expect(callsWith(tag)).toBe(1);
    // The remaining worker serves new work.
    const after = await post(`${randomUUID()} after the stop`);
    expect(after.status).toBe(200);
    expect(other.child.exitCode).toBeNull();
  });
});

describe("a job whose workers keep dying", () => {
  it("ends failed with a clear error after too many stalls, and its waiters are told", { timeout: 90_000 }, async () => {
    const tag = randomUUID();
    const alive = () => gateway.workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
    expect(alive()).toHaveLength(1);
    // No try can finish (the provider never answers); the sync caller times out and the job goes on.
    const response = await post(`${tag} [[mock:hang]]`);
    const jobId = response.headers.get("x-job-id")!;
    const startedAttempts = async () =>
      (await store.readEventsAfter(jobId)).filter((event) => event.type === "job.started").length;
    for (let attempt = 1; attempt <= 3; attempt++) {
      while ((await startedAttempts()) < attempt) await new Promise((resolve) => setTimeout(resolve, 50));
      const [current] = alive();
      await gateway.addWorker();
      await current.stop("SIGKILL");
    }
    const record = await waitForStatus(jobId, "failed", 30_000);
    expect(record.failure).toEqual({
      status: 502,
      error: {
        message: "The job's worker stopped responding too many times; the job was given up.",
        type: "upstream_error",
        param: null,
        code: "upstream_error",
      },
    });
    const events = await store.readEventsAfter(jobId);
    expect(events.at(-1)?.type).toBe("job.failed");
    expect(callsWith(tag)).toBe(3);
  });
});
