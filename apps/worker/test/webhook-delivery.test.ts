import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { createJobStore, createWebhookQueue, enqueueWebhook, newJobId, toJobObject, verifyWebhookSignature } from "@llmgw/jobs";
import { createLogger } from "@llmgw/logger";
import { deliverJobWebhook, WebhookRetryableError } from "../src/webhook-delivery.js";
import { resolveWebhookTarget, WebhookRefusedError } from "../src/webhook-target.js";
import { createWebhookWorker } from "../src/webhook-worker.js";

const SECRET = "whsec-worker-test";
const prefix = `test-${randomUUID()}`;
const redis = new Redis(inject("redisUrl"));
const store = createJobStore(redis, { prefix, retentionSeconds: 3600 });

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}
let server: Server;
let port: number;
const received: Received[] = [];
/** The statuses the receiver answers with, in turn; 200 once they run out. */
let answers: number[] = [];
const waiters = new Set<() => void>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(parts).toString("utf8") });
      const status = answers.shift() ?? 200;
      response.writeHead(status, status === 302 ? { location: "http://127.0.0.1:1/" } : {}).end("ok");
      waiters.forEach((check) => check());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  redis.disconnect();
});

beforeEach(() => {
  received.length = 0;
  answers = [];
});

async function finishedJobWith(webhook: string) {
  const id = newJobId();
  await store.create({ id, model: "deepseek-chat", provider: "deepseek", owner: { keyId: "k", userId: null }, mode: "async", webhook, metadata: { n: 1 } });
  await store.start(id, 1);
  await store.complete(id, 1, { id: "chatcmpl-1", object: "chat.completion", created: 1, model: "deepseek-chat", choices: [] } as never);
  return id;
}

const localName = (name: string) => async (host: string) => {
  expect(host).toBe(name);
  return [{ address: "127.0.0.1", family: 4 }];
};

describe("deliverJobWebhook", () => {
  it("POSTs the job object, signed, to the host name while connecting to the checked address", async () => {
    const id = await finishedJobWith(`http://hooks.example.test:${port}/hook?token=abc`);
    const outcome = await deliverJobWebhook({ store, secret: SECRET, allowPrivate: true, resolve: localName("hooks.example.test") }, id);
    expect(outcome).toEqual({ delivered: true, status: 200 });
    expect(received).toHaveLength(1);
    const [{ headers, body }] = received;
    expect(JSON.parse(body)).toEqual(toJobObject((await store.get(id))!));
    expect(JSON.parse(body)).toMatchObject({ id, status: "succeeded", metadata: { n: 1 } });
    expect(headers.host).toBe(`hooks.example.test:${port}`);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe(id);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    expect(verifyWebhookSignature(SECRET, headers, body)).toBe(true);
    expect(verifyWebhookSignature("another secret", headers, body)).toBe(false);
  });

  it("refuses 127.0.0.1 without WEBHOOK_ALLOW_PRIVATE, and sends nothing", async () => {
    const id = await finishedJobWith(`http://127.0.0.1:${port}/hook`);
    await expect(deliverJobWebhook({ store, secret: SECRET, allowPrivate: false }, id)).rejects.toThrow(WebhookRefusedError);
    await expect(deliverJobWebhook({ store, secret: SECRET, allowPrivate: false }, id)).rejects.toThrow(
      "the webhook host 127.0.0.1 resolves to 127.0.0.1, a loopback, private or reserved address (set WEBHOOK_ALLOW_PRIVATE=true to allow)",
    );
    expect(received).toHaveLength(0);
  });

  it("checks after DNS: a public-looking name that resolves to a private address is refused", async () => {
    const id = await finishedJobWith(`http://rebind.example.test:${port}/hook`);
    await expect(deliverJobWebhook({ store, secret: SECRET, allowPrivate: false, resolve: localName("rebind.example.test") }, id)).rejects.toThrow(
      WebhookRefusedError,
    );
    // One private answer among public ones is enough to refuse.
    await expect(
      resolveWebhookTarget("https://mixed.example.test/", {
        allowPrivate: false,
        resolve: async () => [
          { address: "93.184.216.34", family: 4 },
          { address: "10.0.0.7", family: 4 },
        ],
      }),
    ).rejects.toThrow("resolves to 10.0.0.7");
    expect(received).toHaveLength(0);
  });

  it("resolves once and pins the address: a second DNS answer cannot swap it", async () => {
    let lookups = 0;
    const target = await resolveWebhookTarget("https://pinned.example.test/", {
      allowPrivate: false,
      resolve: async () => (++lookups === 1 ? [{ address: "93.184.216.34", family: 4 }] : [{ address: "127.0.0.1", family: 4 }]),
    });
    expect(target).toMatchObject({ host: "pinned.example.test", address: "93.184.216.34", family: 4 });
    expect(lookups).toBe(1);
  });

  it("asks for another try on 5xx, 408 and 429; gives up on other 4xx and on redirects", async () => {
    const id = await finishedJobWith(`http://127.0.0.1:${port}/hook`);
    const deps = { store, secret: SECRET, allowPrivate: true };
    for (const status of [500, 503, 408, 429]) {
      answers = [status];
      await expect(deliverJobWebhook(deps, id)).rejects.toThrow(WebhookRetryableError);
    }
    for (const status of [400, 404, 410, 302]) {
      answers = [status];
      await expect(deliverJobWebhook(deps, id)).rejects.toThrow(WebhookRefusedError);
    }
    await expect(deliverJobWebhook(deps, id)).resolves.toEqual({ delivered: true, status: 200 });
  });

  it("asks for another try when nobody answers", async () => {
    const id = await finishedJobWith("http://127.0.0.1:1/hook");
    await expect(deliverJobWebhook({ store, secret: SECRET, allowPrivate: true }, id)).rejects.toThrow(WebhookRetryableError);
  });

  it("skips a job that has expired or has no webhook", async () => {
    expect(await deliverJobWebhook({ store, secret: SECRET, allowPrivate: true }, newJobId())).toEqual({
      delivered: false,
      reason: "the job has expired",
    });
  });
});

describe("the webhooks queue", () => {
  it("retries a failed delivery with backoff until the receiver takes it, and enqueues a job's webhook once", async () => {
    const connection = new Redis(inject("redisUrl"), { maxRetriesPerRequest: null });
    const queue = createWebhookQueue(redis, prefix);
    const worker = createWebhookWorker(
      { store, secret: SECRET, allowPrivate: true, logger: createLogger({ level: "silent" }) },
      { connection, prefix, concurrency: 1 },
    );
    try {
      const id = await finishedJobWith(`http://127.0.0.1:${port}/retry`);
      answers = [503];
      await enqueueWebhook(queue, id);
      await enqueueWebhook(queue, id); // a second report of the same end
      await new Promise<void>((resolve) => {
        const check = () => received.length >= 2 && (waiters.delete(check), resolve());
        waiters.add(check);
        check();
      });
      await expect.poll(async () => (await queue.getJob(id))?.getState()).toBe("completed");
      // One delivery job despite two reports: the refused try and the accepted one, and no third.
      expect(received.map((request) => request.headers["webhook-id"])).toEqual([id, id]);
      expect(verifyWebhookSignature(SECRET, received[1].headers, received[1].body)).toBe(true);
      expect((await queue.getJob(id))?.attemptsMade).toBe(2);
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
    }
  });
});
