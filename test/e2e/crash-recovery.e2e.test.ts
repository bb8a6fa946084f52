import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { loremWords, type GatewayProcess } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// A worker is SIGKILLed in the middle of a job, with the default lock settings (no WORKER_LOCK_MS
// here, unlike workers.e2e): the other worker must finish the job within 20 s of the kill.
// `node bench/crash-recovery.mjs` runs the same scenario several times and reports the times.
let stack: MockedGateway;
const metricsPorts = new Map<GatewayProcess, number>();

beforeAll(async () => {
  stack = await startMockedGateway({ workers: 2, env: { RATE_LIMIT_ENABLED: "false", CACHE_ENABLED: "false" } });
  for (const worker of stack.gateway.workers) {
    metricsPorts.set(worker, (JSON.parse(await worker.waitForLine(/worker ready/)) as { metricsPort: number }).metricsPort);
  }
});

afterAll(() => stack?.stop());

/** The worker running a try now, by its own llmgw_worker_jobs_in_flight. */
async function busyWorker(): Promise<GatewayProcess> {
  const busy: GatewayProcess[] = [];
  for (const [worker, port] of metricsPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    if (/^llmgw_worker_jobs_in_flight 1$/m.test(text)) busy.push(worker);
  }
  expect(busy).toHaveLength(1);
  return busy[0];
}

describe("a worker killed in the middle of a job, default WORKER_LOCK_MS", () => {
  it("has its job completed by the other worker within 20 s of the SIGKILL", { timeout: 60_000 }, async () => {
    const tag = randomUUID();
    const headers = { authorization: `Bearer ${stack.clientKey}`, "content-type": "application/json" };
    const request = { model: "deepseek-chat", messages: [{ role: "user", content: `${tag} [[mock:words=10,chunk_delay=100]]` }] };
    const submitted = await fetch(`${stack.gateway.url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ request }) });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    // The job's event stream ends with its final event: the moment it completes.
    const events = fetch(`${stack.gateway.url}/v1/jobs/${id}/events`, { headers }).then((response) => response.text());
    // The first try is under way (about 2 s of chunks) when its worker dies.
    await vi.waitFor(() => expect(stack.callsWith(tag)).toBe(1), { timeout: 10_000, interval: 10 });
    const victim = await busyWorker();
    const killedAt = performance.now();
    await victim.stop("SIGKILL");

    const log = await events;
    const recoveredMs = performance.now() - killedAt;
    console.log(`crash recovery: the job completed ${Math.round(recoveredMs)} ms after its worker was SIGKILLed`);
    expect(log).toMatch(/^event: job\.completed$/m);
    expect(recoveredMs).toBeLessThan(20_000);
    const job = (await (await fetch(`${stack.gateway.url}/v1/jobs/${id}`, { headers })).json()) as {
      status: string;
      attempts: number;
      result: { choices: { message: { content: string } }[]; usage: { total_tokens: number } };
    };
    expect([job.status, job.attempts]).toEqual(["succeeded", 2]);
    expect(job.result.choices[0].message.content).toBe(loremWords(10));
    expect(stack.callsWith(tag)).toBe(2);
    // Two upstream calls, one finished request: the key's token spending counts it once (its day's counter).
    const redis = new Redis(inject("redisUrl"));
    try {
      const counters = await redis.keys(`${stack.prefix}:spend:key:*`);
      const daily = counters.filter((counter) => /:\d{4}-\d{2}-\d{2}$/.test(counter));
      expect(daily).toHaveLength(1);
      expect(Number(await redis.get(daily[0]))).toBe(job.result.usage.total_tokens);
    } finally {
      redis.disconnect();
    }
  });
});
