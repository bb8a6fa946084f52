// Reference: the bare minimum of a queue in the middle, to hold the gateway against.
//   REFERENCE_MODE=api     Fastify: POST /v1/chat/completions -> queue.add -> wait for the job's
//                          notification on this process's pub/sub channel -> answer its result.
//   REFERENCE_MODE=worker  BullMQ worker (concurrency 32, as the gateway's default): calls the
//                          upstream with undici (JSON, keep-alive pool), publishes the result.
// Env: REDIS_URL, UPSTREAM_URL (base URL ending in /v1), PREFIX, PORT (api; 0 = any).
// No auth, limits, cache, job records, event logs or usage: what is left is HTTP, BullMQ and
// one notification per job. Prints `ready <url>` (api) or `ready worker` once it can serve.
import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import Fastify from "fastify";
import { Redis } from "ioredis";
import { Pool } from "undici";

const { REDIS_URL, UPSTREAM_URL, PREFIX = "ref", PORT = "0" } = process.env;
const QUEUE = "reference";

if (process.env.REFERENCE_MODE === "worker") await runWorker();
else await runApi();

async function runApi() {
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const subscriber = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE, { connection, prefix: PREFIX });
  // One channel per API process; the message names the job, so one SUBSCRIBE serves every job.
  const channel = `${PREFIX}:done:${randomUUID()}`;
  const waiting = new Map();
  subscriber.on("message", (_channel, message) => {
    const space = message.indexOf(" ");
    const resolve = waiting.get(message.slice(0, space));
    if (resolve) resolve(message.slice(space + 1));
  });
  await subscriber.subscribe(channel);

  const app = Fastify({ logger: false });
  app.post("/v1/chat/completions", async (request, reply) => {
    const jobId = randomUUID();
    const done = new Promise((resolve) => waiting.set(jobId, resolve));
    await queue.add("call", { request: request.body, replyTo: channel }, { jobId, removeOnComplete: true, removeOnFail: true });
    const result = await done;
    waiting.delete(jobId);
    reply.header("content-type", "application/json");
    return result;
  });
  await app.listen({ host: "127.0.0.1", port: Number(PORT) });
  console.log(`ready http://127.0.0.1:${app.server.address().port}`);
  process.once("SIGTERM", async () => {
    await app.close();
    await queue.close();
    subscriber.disconnect();
    connection.disconnect();
    process.exit(0);
  });
}

async function runWorker() {
  const base = new URL(UPSTREAM_URL);
  const path = `${base.pathname.replace(/\/+$/, "")}/chat/completions`;
  const pool = new Pool(base.origin, { pipelining: 1 });
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const publisher = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(
    QUEUE,
    async (job) => {
      const response = await pool.request({
        path,
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer sk-reference" },
        body: JSON.stringify(job.data.request),
      });
      const text = await response.body.text();
      await publisher.publish(job.data.replyTo, `${job.id} ${text}`);
    },
    { connection, prefix: PREFIX, concurrency: 32 },
  );
  await worker.waitUntilReady();
  console.log("ready worker");
  process.once("SIGTERM", async () => {
    await worker.close();
    await pool.close();
    publisher.disconnect();
    connection.disconnect();
    process.exit(0);
  });
}
