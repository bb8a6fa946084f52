import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { jobKeys } from "@llmgw/jobs";
import { openDatabase } from "@llmgw/store";
import { runAdminCli, type MockUpstream } from "@llmgw/testing";
import { startTwoApiInstances, type TwoApiInstances } from "./support/two-api-instances.js";

// Issue "Hardening", item 10: revoking a key ends its work in flight on every instance. Two built API
// processes and a worker share one Redis and one SQLite file; the revocation is made on A, the work runs on B.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const prefix = `revoke-${randomUUID()}`;
const REVOKED = { message: "This API key has been revoked.", type: "authentication_error", param: null, code: "invalid_api_key" };
/** The contract's bound: everything the key had open ends within this of the revocation. */
const WITHIN_MS = 5_000;

let mock: MockUpstream;
let instances: [string, string];
let redis: Redis;
let databasePath: string;
let folder: string;
let stack: TwoApiInstances;
const [A, B] = [0, 1] as const;

beforeAll(async () => {
  stack = await startTwoApiInstances({ prefix, adminToken: ADMIN_TOKEN, env: { CACHE_ENABLED: "false" } });
  ({ mock, instances, redis, databasePath, folder } = stack);
});

afterAll(() => stack?.stop());

async function adminCall(method: string, path: string, body?: unknown, instance: 0 | 1 = A) {
  const response = await fetch(`${instances[instance]}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function newKey() {
  const name = `user-${randomUUID()}`;
  const user = await adminCall("POST", "/users", { username: name, email: `${name}@example.com` });
  const key = await adminCall("POST", "/api-keys", { user_id: user.body.id, key_name: "revocable" });
  expect(key.status).toBe(201);
  return { keyId: key.body.id as number, apiKey: key.body.api_key as string };
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: "deepseek-chat", messages: [{ role: "user", content }], ...extra });

function post(instance: number, path: string, apiKey: string, body: unknown) {
  return fetch(`${instances[instance]}${path}`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Reads an SSE body: resolves `seen` once `predicate` accepts the text so far, and `ended` with the whole text. */
function readSse(response: Response, predicate: (text: string) => boolean) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let markSeen!: () => void;
  const seen = new Promise<void>((resolve) => (markSeen = resolve));
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
      if (predicate(text)) markSeen();
    }
  })();
  return { seen, ended };
}

/** A WebSocket of the key on `instance`: its frames, and its close code and reason once it closes. */
function openSocket(instance: number, apiKey: string) {
  const socket = new WebSocket(`${instances[instance].replace("http", "ws")}/v1/ws`, { headers: { "x-api-key": apiKey } });
  const frames: Record<string, any>[] = [];
  socket.on("message", (data) => frames.push(JSON.parse(data.toString())));
  const opened = new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { socket, frames, opened, closed };
}

/** The job's final status, read from its event log in Redis as it is written (blocking reads, no polling sleeps). */
async function finalStatus(jobId: string, timeoutMs = WITHIN_MS): Promise<string> {
  const key = jobKeys(prefix).events(jobId);
  const deadline = Date.now() + timeoutMs;
  let after = "0";
  while (Date.now() < deadline) {
    const reply = (await redis.xread("BLOCK", Math.max(1, deadline - Date.now()), "STREAMS", key, after)) as [string, [string, string[]][]][] | null;
    for (const [id, fields] of reply?.[0]?.[1] ?? []) {
      after = id;
      const type = fields[fields.indexOf("type") + 1];
      if (type === "job.completed" || type === "job.failed" || type === "job.cancelled") return type.slice(4);
    }
  }
  throw new Error(`job ${jobId} did not end within ${timeoutMs} ms`);
}

/** The HTTP status of the job's usage row in SQLite, once the usage drain has written it. */
async function usageStatus(jobId: string): Promise<number> {
  const deadline = Date.now() + WITHIN_MS;
  const db = openDatabase(databasePath);
  try {
    for (;;) {
      const row = db.prepare("SELECT status FROM usage_log WHERE job_id = ?").get(jobId) as { status: number } | undefined;
      if (row) return row.status;
      if (Date.now() > deadline) throw new Error(`no usage row for ${jobId}`);
      // The drain writes within its gather interval; this waits for the row, not for a fixed time.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    db.close();
  }
}

/** Runs the built admin CLI against the test's database and Redis. */
const adminCli = (args: string[], env: Record<string, string>) => runAdminCli(args, { cwd: folder, env: { DATABASE_PATH: databasePath, ...env } });

describe("revoking a key ends its work in flight", () => {
  it("ends the key's streams, sockets and jobs on another instance within 5 s", async () => {
    const { keyId, apiKey } = await newKey();
    const tag = randomUUID();
    const slow = `[[mock:words=200,chunk_delay=50]] ${tag}`;

    // On B: a synchronous stream that has started, a job whose events are followed, a socket, a JSON waiter.
    const streaming = await post(B, "/v1/chat/completions", apiKey, ask(`${slow} stream`, { stream: true }));
    expect(streaming.status).toBe(200);
    const streamJobId = streaming.headers.get("x-job-id")!;
    const stream = readSse(streaming, (text) => text.includes("data: {"));
    await stream.seen;

    const created = await post(B, "/v1/jobs", apiKey, { request: ask(`${slow} job`) });
    expect(created.status).toBe(202);
    const asyncJobId = ((await created.json()) as { id: string }).id;
    const events = await fetch(`${instances[B]}/v1/jobs/${asyncJobId}/events`, { headers: { "x-api-key": apiKey } });
    expect(events.status).toBe(200);
    const eventStream = readSse(events, (text) => text.includes("event: job.chunk"));
    await eventStream.seen;

    const socket = openSocket(B, apiKey);
    await socket.opened;

    const waiting = post(B, "/v1/chat/completions", apiKey, ask(`[[mock:hang]] ${tag} json`));
    await mock.waitForCalls(3);

    // Revoked on A; B hears it over Redis.
    const revokedAt = Date.now();
    expect((await adminCall("DELETE", `/api-keys/${keyId}`, undefined, A)).status).toBe(200);

    const [streamText, eventText, close, answer] = await Promise.all([stream.ended, eventStream.ended, socket.closed, waiting]);
    expect(Date.now() - revokedAt).toBeLessThan(WITHIN_MS);

    // The stream's last event is the revocation, as an OpenAI error body.
    const streamData = streamText.split("\n\n").filter((event) => event.startsWith("data: "));
    expect(streamData.at(-1)).toBe(`data: ${JSON.stringify({ error: REVOKED })}`);
    expect(streamText).not.toContain("[DONE]");
    // The job's event stream ends with an error event saying so.
    const lastEvent = eventText.trim().split("\n\n").at(-1);
    expect(lastEvent).toBe(`event: error\ndata: ${JSON.stringify({ type: "error", error: REVOKED, job_id: asyncJobId })}`);
    // The socket gets the error frame, then 4401.
    expect(socket.frames.at(-1)).toEqual({ type: "error", error: REVOKED });
    expect(close).toEqual({ code: 4401, reason: "API key revoked" });
    // The JSON waiter hears its job's cancel.
    expect(answer.status).toBe(409);
    const waitingJobId = answer.headers.get("x-job-id")!;
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("job_cancelled");

    // Every job ends cancelled, once, with its 499 usage row, and every upstream call is aborted.
    for (const jobId of [streamJobId, asyncJobId, waitingJobId]) {
      expect(await finalStatus(jobId)).toBe("cancelled");
      expect(await usageStatus(jobId)).toBe(499);
    }
    await mock.waitForAbort(3, WITHIN_MS);
    // The key no longer works on either instance.
    for (const instance of [A, B]) expect((await post(instance, "/v1/jobs", apiKey, { request: ask("after") })).status).toBe(401);
  });

  it("broadcasts a CLI revocation to a running instance within 5 s", async () => {
    const { keyId, apiKey } = await newKey();
    const callsBefore = mock.calls.length;
    const abortsBefore = mock.aborts;
    // A job whose upstream call is open, and a socket.
    const created = await post(B, "/v1/jobs", apiKey, { request: ask(`[[mock:hang]] ${randomUUID()} cli`) });
    const jobId = ((await created.json()) as { id: string }).id;
    await mock.waitForCalls(callsBefore + 1);
    const socket = openSocket(B, apiKey);
    await socket.opened;

    const revokedAt = Date.now();
    const revoked = await adminCli(["revoke-key", "--id", String(keyId)], { REDIS_URL: inject("redisUrl"), QUEUE_PREFIX: prefix });
    expect(revoked).toEqual({ code: 0, stdout: `${JSON.stringify({ id: keyId, revoked: true, broadcast: true }, null, 2)}\n`, stderr: "" });

    expect(await socket.closed).toEqual({ code: 4401, reason: "API key revoked" });
    expect(socket.frames.at(-1)).toEqual({ type: "error", error: REVOKED });
    expect(await finalStatus(jobId)).toBe("cancelled");
    expect(Date.now() - revokedAt).toBeLessThan(WITHIN_MS);
    expect(await usageStatus(jobId)).toBe(499);
    await mock.waitForAbort(abortsBefore + 1, WITHIN_MS);
  });
});
