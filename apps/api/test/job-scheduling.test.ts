import { Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { COMPLETIONS_QUEUE, readQueueDepths, type CompletionJobData } from "@llmgw/jobs";
import { ask, auth, KEY_A, KEY_B, runJob, startJobsApi, type JobsTestApi } from "./support/jobs-test-api.js";

let api: JobsTestApi | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
});

/**
 * Queues 30 asynchronous jobs of key A, then 3 of key B, then one synchronous call, with no
 * worker running; then one worker slot takes them in the order the queue gives and answers each.
 * Returns that order ("sync", "A", "B").
 */
async function dispatchOrder(scheduling: "fair" | "fifo"): Promise<string[]> {
  api = await startJobsApi({ JOB_SCHEDULING: scheduling });
  const { app, context } = api;
  const submit = (key: string, text: string) => app.inject({ method: "POST", url: "/v1/jobs", headers: auth(key), payload: { request: ask(text) } });
  for (let i = 0; i < 30; i++) expect((await submit(KEY_A, `a${i}`)).statusCode).toBe(202);
  for (let i = 0; i < 3; i++) expect((await submit(KEY_B, `b${i}`)).statusCode).toBe(202);
  const sync = app.inject({ method: "POST", url: "/v1/chat/completions", headers: auth(KEY_A), payload: ask("interactive") });
  await vi.waitFor(async () => expect((await readQueueDepths(context.queue)).waiting).toBe(34), { timeout: 5000, interval: 20 });

  const order: string[] = [];
  const connection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
  const worker = new Worker<CompletionJobData>(
    COMPLETIONS_QUEUE,
    async (job: Job<CompletionJobData>) => {
      const { mode, request, jobId } = job.data;
      const text = (request.messages[0] as { content: string }).content;
      order.push(mode === "async" ? text[0].toUpperCase() : "sync");
      await runJob(context, jobId, ["ok"]);
    },
    { connection, prefix: context.config.queuePrefix, concurrency: 1 },
  );
  try {
    expect((await sync).statusCode).toBe(200);
    await vi.waitFor(() => expect(order).toHaveLength(34), { timeout: 10_000, interval: 20 });
  } finally {
    await worker.close();
    connection.disconnect();
  }
  return order;
}

describe("job scheduling", () => {
  it("fair: the synchronous call starts first, and a key's 3 jobs take turns with another key's 30", async () => {
    const order = await dispatchOrder("fair");
    expect(order[0]).toBe("sync");
    const async = order.slice(1);
    // Key A's first job had the queue to itself; from then on A and B alternate until B is done.
    expect(async.slice(0, 7)).toEqual(["A", "A", "B", "A", "B", "A", "B"]);
    expect(async.filter((who) => who === "A")).toHaveLength(30);
  });

  it("fifo: every job in order of arrival (the synchronous call behind the backlog)", async () => {
    const order = await dispatchOrder("fifo");
    expect(order).toEqual([...Array(30).fill("A"), ...Array(3).fill("B"), "sync"]);
  });
});
