import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jobKeys, queueJobId } from "@llmgw/jobs";
import { staticKeyId } from "../src/services/client-auth.js";
import { KEY_A, KEY_B, ask, auth, parseSse, runJob, startJobsApi, type JobsTestApi } from "./support/jobs-test-api.js";
import { largestMetadata, refusedMetadata } from "./support/metadata-cases.js";

let api: JobsTestApi;
let webhooks: JobsTestApi;

beforeAll(async () => {
  api = await startJobsApi();
  webhooks = await startJobsApi({ WEBHOOK_SECRET: "whsec-test", WEBHOOK_ALLOW_PRIVATE: "false" });
});

afterAll(async () => {
  await api?.close();
  await webhooks?.close();
});

const submit = (body: unknown, key = KEY_A, headers: Record<string, string> = {}, target = api) =>
  target.app.inject({ method: "POST", url: "/v1/jobs", headers: { ...auth(key), ...headers }, payload: body as object });

/** The job's entry in the BullMQ queue, if any. */
async function queuedJob(target: JobsTestApi, jobId: string) {
  const record = await target.context.store.get(jobId);
  return record ? target.context.queue.getJob(queueJobId(jobId, record.createdAt)) : undefined;
}

async function newJob(text = "hello", key = KEY_A): Promise<string> {
  const response = await submit({ request: ask(text) }, key);
  expect(response.statusCode).toBe(202);
  return response.json().id;
}

const notFound = (id: string) => ({
  error: { message: `No job with id '${id}'.`, type: "invalid_request_error", param: null, code: "job_not_found" },
});
const invalid = (message: string, param: string | null) => ({
  error: { message, type: "invalid_request_error", param, code: "invalid_request" },
});

describe("POST /v1/jobs", () => {
  it("answers 202 with the queued job and its Location, and enqueues it for a worker", async () => {
    const response = await submit({ request: ask("submit me"), metadata: { order: 42, tag: "x" } });
    expect(response.statusCode).toBe(202);
    const job = response.json();
    expect(job).toEqual({
      id: expect.stringMatching(/^job_[A-Za-z0-9_-]{24}$/),
      object: "job",
      status: "queued",
      model: "deepseek-chat",
      created_at: expect.any(Number),
      started_at: null,
      completed_at: null,
      attempts: 0,
      result: null,
      error: null,
      metadata: { order: 42, tag: "x" },
    });
    expect(Math.abs(job.created_at - Date.now() / 1000)).toBeLessThan(5);
    expect(response.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(response.headers["x-job-id"]).toBe(job.id);
    const queued = await queuedJob(api, job.id);
    expect(queued?.data).toMatchObject({ jobId: job.id, mode: "async", model: "deepseek-chat", owner: { keyId: staticKeyId(KEY_A) } });
    // The job data never holds the key.
    expect(JSON.stringify(queued?.data)).not.toContain(KEY_A);
  });

  it("answers under /api/v1 too, with a Location there", async () => {
    const response = await api.app.inject({ method: "POST", url: "/api/v1/jobs", headers: auth(KEY_A), payload: { request: ask("old path") } });
    expect(response.statusCode).toBe(202);
    expect(response.headers.location).toBe(`/api/v1/jobs/${response.json().id}`);
  });

  it("validates the inner request exactly as chat completions does, and nothing unknown beside it", async () => {
    const cases: [unknown, object][] = [
      [{}, invalid("Missing required parameter: 'request'.", "request")],
      [{ request: ask("x"), stream: true }, invalid("Unrecognized request argument supplied: stream.", "stream")],
      [{ request: { model: "deepseek-chat", messages: "hi" } }, invalid("Invalid value for 'request.messages': must be array.", "request.messages")],
      [{ request: { ...ask("x"), n: 0 } }, invalid("Invalid value for 'request.n': must be >= 1.", "request.n")],
      [{ request: ask("x"), metadata: "tags" }, invalid("Invalid value for 'metadata': must be object.", "metadata")],
    ];
    for (const [body, expected] of cases) {
      const response = await submit(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json()).toEqual(expected);
    }
  });

  it("bounds metadata as OpenAI does: 16 keys, 64-character keys, scalar values, strings of 512 characters; 16 KiB of JSON", async () => {
    for (const { name, metadata, message, param } of refusedMetadata) {
      const response = await submit({ request: ask(`metadata: ${name}`), metadata });
      expect(response.statusCode, name).toBe(400);
      expect(response.json(), name).toEqual(invalid(message, param));
    }
    // Nothing of a refused submission was stored.
    const listed = (await api.app.inject({ url: "/v1/jobs?limit=100", headers: auth(KEY_A) })).json();
    expect(listed.data.filter((job: { metadata: object }) => "blob" in job.metadata || "note" in job.metadata)).toEqual([]);
    const largest = { ...largestMetadata, [Object.keys(largestMetadata)[0]]: 42, [Object.keys(largestMetadata)[1]]: true, [Object.keys(largestMetadata)[2]]: null };
    const accepted = await submit({ request: ask("largest metadata"), metadata: largest });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json().metadata).toEqual(largest);
    const read = await api.app.inject({ url: `/v1/jobs/${accepted.json().id}`, headers: auth(KEY_A) });
    expect(read.json().metadata).toEqual(largest);
  });

  it("answers 404 for a model no provider serves, and 401 without a key", async () => {
    const unknown = await submit({ request: { ...ask("x"), model: "no-such-model" } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe("model_not_found");
    const anonymous = await api.app.inject({ method: "POST", url: "/v1/jobs", payload: { request: ask("x") } });
    expect(anonymous.statusCode).toBe(401);
  });

  it("refuses a webhook while WEBHOOK_SECRET is unset", async () => {
    const response = await submit({ request: ask("x"), webhook: "https://example.com/hook" });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual(
      invalid("Webhooks are disabled on this gateway: its operator has not set WEBHOOK_SECRET.", "webhook"),
    );
  });

  it("checks the webhook URL at submit: http(s) only, no credentials, no loopback or private address", async () => {
    const cases: [string, string][] = [
      ["not a url", "is not a valid absolute URL"],
      ["ftp://example.com/hook", "must use http or https"],
      ["https://user:pass@example.com/hook", "must not contain credentials"],
      ["http://127.0.0.1:8080/hook", "must not point at a loopback, private or reserved address"],
      ["http://[::1]/hook", "must not point at a loopback, private or reserved address"],
      ["http://10.1.2.3/hook", "must not point at a loopback, private or reserved address"],
      ["http://169.254.169.254/latest/meta-data", "must not point at a loopback, private or reserved address"],
      ["http://localhost:3000/hook", "must not point at localhost"],
    ];
    for (const [url, reason] of cases) {
      const response = await submit({ request: ask("x"), webhook: url }, KEY_A, {}, webhooks);
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toEqual(invalid(`Invalid value for 'webhook': the URL ${reason}.`, "webhook"));
    }
    const accepted = await submit({ request: ask("x"), webhook: "https://hooks.example.com/llm?token=abc" }, KEY_A, {}, webhooks);
    expect(accepted.statusCode).toBe(202);
    const queued = await queuedJob(webhooks, accepted.json().id);
    expect(queued?.data.webhook).toBe("https://hooks.example.com/llm?token=abc");
    // The job object does not show the webhook URL (it may carry a token).
    expect(accepted.json()).not.toHaveProperty("webhook");
  });
});

describe("Idempotency-Key", () => {
  it("20 parallel submits with one key and body create one job and enqueue it once", async () => {
    const key = `idem-${Date.now()}`;
    const body = { request: ask("exactly once"), metadata: { a: 1, b: 2 } };
    const responses = await Promise.all(Array.from({ length: 20 }, () => submit(body, KEY_A, { "idempotency-key": key })));
    const statuses = responses.map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, ...Array(18).fill(200), 202].sort());
    const ids = new Set(responses.map((response) => response.json().id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    for (const response of responses) {
      expect(response.headers.location).toBe(`/v1/jobs/${id}`);
      expect(response.headers["idempotent-replayed"]).toBe(response.statusCode === 200 ? "true" : undefined);
    }
    const waiting = await api.context.queue.getJobs(["waiting", "prioritized"], 0, 10_000);
    expect(waiting.filter((job) => (job.data.request.messages[0] as { content: string }).content === "exactly once")).toHaveLength(1);
  });

  it("returns the same job for the same body in another key order, later, even after it finished", async () => {
    const key = `idem-order-${Date.now()}`;
    const first = await submit({ request: ask("ordered"), metadata: { x: 1, y: 2 } }, KEY_A, { "idempotency-key": key });
    await runJob(api.context, first.json().id, ["done"]);
    const again = await submit({ metadata: { y: 2, x: 1 }, request: { messages: [{ content: "ordered", role: "user" }], model: "deepseek-chat" } }, KEY_A, {
      "idempotency-key": key,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: first.json().id, status: "succeeded" });
  });

  it("answers 422 for the same key with a different body", async () => {
    const key = `idem-reuse-${Date.now()}`;
    expect((await submit({ request: ask("one") }, KEY_A, { "idempotency-key": key })).statusCode).toBe(202);
    const reused = await submit({ request: ask("two") }, KEY_A, { "idempotency-key": key });
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toEqual({
      error: {
        message: "This Idempotency-Key was already used with a different request body.",
        type: "invalid_request_error",
        param: null,
        code: "idempotency_key_reused",
      },
    });
  });

  it("keeps keys apart per API key, and refuses a malformed key", async () => {
    const key = `idem-shared-${Date.now()}`;
    const a = await submit({ request: ask("mine") }, KEY_A, { "idempotency-key": key });
    const b = await submit({ request: ask("mine") }, KEY_B, { "idempotency-key": key });
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(a.json().id).not.toBe(b.json().id);
    const bad = await submit({ request: ask("x") }, KEY_A, { "idempotency-key": "has space" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual(invalid("Invalid Idempotency-Key header: 1 to 255 printable ASCII characters without spaces.", null));
  });

  it("frees the key when the submit fails, so a retry can succeed", async () => {
    const key = `idem-fail-${Date.now()}`;
    const failed = await submit({ request: { ...ask("x"), model: "no-such-model" } }, KEY_A, { "idempotency-key": key });
    expect(failed.statusCode).toBe(404);
    expect(await api.context.redis.exists(jobKeys(api.context.config.queuePrefix).idempotency(staticKeyId(KEY_A), key))).toBe(0);
    expect((await submit({ request: ask("x") }, KEY_A, { "idempotency-key": key })).statusCode).toBe(202);
  });
});

describe("GET /v1/jobs/:id and ownership", () => {
  it("polls a job from queued to succeeded with its result", async () => {
    const id = await newJob("poll me");
    const queued = await api.app.inject({ url: `/v1/jobs/${id}`, headers: auth(KEY_A) });
    expect(queued.json()).toMatchObject({ id, status: "queued", result: null });
    const result = await runJob(api.context, id, ["Hel", "lo"]);
    const done = await api.app.inject({ url: `/v1/jobs/${id}`, headers: auth(KEY_A) });
    expect(done.statusCode).toBe(200);
    expect(done.headers["x-job-id"]).toBe(id);
    expect(done.json()).toEqual({
      id,
      object: "job",
      status: "succeeded",
      model: "deepseek-chat",
      created_at: expect.any(Number),
      started_at: expect.any(Number),
      completed_at: expect.any(Number),
      attempts: 1,
      result,
      error: null,
      metadata: {},
    });
  });

  it("answers another key's job exactly like an id that never existed, on every route", async () => {
    const id = await newJob("private");
    const never = "job_neverexisted0000000000";
    for (const [method, path] of [
      ["GET", ""],
      ["POST", "/cancel"],
      ["GET", "/events"],
    ] as const) {
      for (const prefix of ["/v1", "/api/v1"]) {
        const foreign = await api.app.inject({ method, url: `${prefix}/jobs/${id}${path}`, headers: auth(KEY_B) });
        expect(foreign.statusCode).toBe(404);
        expect(foreign.json()).toEqual(notFound(id));
        const unknown = await api.app.inject({ method, url: `${prefix}/jobs/${never}${path}`, headers: auth(KEY_B) });
        expect(unknown.statusCode).toBe(404);
        expect(unknown.json()).toEqual(notFound(never));
      }
    }
    const malformed = await api.app.inject({ url: "/v1/jobs/..%2F..%2Fetc", headers: auth(KEY_A) });
    expect(malformed.statusCode).toBe(404);
    expect(malformed.json().error.code).toBe("job_not_found");
    // Still there, untouched, for its owner.
    expect((await api.app.inject({ url: `/v1/jobs/${id}`, headers: auth(KEY_A) })).json().status).toBe("queued");
  });
});

describe("POST /v1/jobs/:id/cancel", () => {
  it("cancels a queued job: removed from the queue, recorded once in usage (499), 409 after", async () => {
    const id = await newJob("cancel me");
    expect(await queuedJob(api, id)).toBeDefined();
    const before = (await api.context.usage.stats()).requests_by_status["499"] ?? 0;
    const cancelled = await api.app.inject({ method: "POST", url: `/v1/jobs/${id}/cancel`, headers: auth(KEY_A) });
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id, status: "cancelled", completed_at: expect.any(Number), result: null, error: null });
    expect(await queuedJob(api, id)).toBeUndefined();
    const again = await api.app.inject({ method: "POST", url: `/v1/jobs/${id}/cancel`, headers: auth(KEY_A) });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({
      error: {
        message: `The job '${id}' has already ended; there is nothing to cancel.`,
        type: "invalid_request_error",
        param: null,
        code: "job_already_ended",
      },
    });
    // Written with the next batch of the API's own usage entries.
    await vi.waitFor(async () => expect((await api.context.usage.stats()).requests_by_status["499"]).toBe(before + 1));
  });

  it("answers 409 for a job that succeeded", async () => {
    const id = await newJob("finished");
    await runJob(api.context, id, ["ok"]);
    const response = await api.app.inject({ method: "POST", url: `/v1/jobs/${id}/cancel`, headers: auth(KEY_A) });
    expect(response.statusCode).toBe(409);
    expect((await api.app.inject({ url: `/v1/jobs/${id}`, headers: auth(KEY_A) })).json().status).toBe("succeeded");
  });
});

describe("GET /v1/jobs", () => {
  it("lists the caller's own jobs, newest first, page by page without gaps or repeats", async () => {
    const own = await startJobsApi();
    try {
      // Submitted in parallel: many share a creation millisecond, which a score cursor would skip.
      const created = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          own.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(KEY_A), payload: { request: ask(`list ${i}`) } }),
        ),
      );
      await own.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(KEY_B), payload: { request: ask("other key") } });
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const response = await own.app.inject({ url: `/v1/jobs?limit=7${after ? `&after=${after}` : ""}`, headers: auth(KEY_A) });
        expect(response.statusCode).toBe(200);
        const list = response.json() as { object: string; data: { id: string }[]; first_id: string | null; last_id: string | null; has_more: boolean };
        expect(list.object).toBe("list");
        seen.push(...list.data.map((job: { id: string }) => job.id));
        expect(list.first_id).toBe(list.data[0]?.id ?? null);
        expect(list.last_id).toBe(list.data.at(-1)?.id ?? null);
        if (!list.has_more) break;
        after = list.last_id;
      }
      expect(seen).toHaveLength(30);
      expect(new Set(seen)).toEqual(new Set(created.map((response) => response.json().id)));
      const times = await Promise.all(seen.map(async (id) => (await own.context.store.get(id))!.createdAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      const theirs = (await own.app.inject({ url: "/v1/jobs", headers: auth(KEY_B) })).json();
      expect(theirs.data.map((job: { metadata: object; status: string }) => job.status)).toEqual(["queued"]);
    } finally {
      await own.close();
    }
  });

  it("forgets jobs whose records expired, and refuses a bad limit or cursor", async () => {
    const id = await newJob("expiring");
    await api.context.redis.del(jobKeys(api.context.config.queuePrefix).record(id));
    const list = (await api.app.inject({ url: "/v1/jobs?limit=100", headers: auth(KEY_A) })).json();
    expect(list.data.map((job: { id: string }) => job.id)).not.toContain(id);
    await vi.waitFor(async () => expect(await api.context.redis.zscore(jobKeys(api.context.config.queuePrefix).ownerJobs(staticKeyId(KEY_A)), id)).toBeNull());
    for (const query of ["limit=0", "limit=101", "limit=ten"]) {
      const response = await api.app.inject({ url: `/v1/jobs?${query}`, headers: auth(KEY_A) });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual(invalid("Invalid value for 'limit': an integer from 1 to 100.", "limit"));
    }
    const cursor = await api.app.inject({ url: "/v1/jobs?after=nope", headers: auth(KEY_A) });
    expect(cursor.json()).toEqual(invalid("Invalid value for 'after': a job id.", "after"));
  });
});

describe("GET /v1/jobs/:id/events (SSE)", () => {
  const events = (id: string, headers: Record<string, string> = {}, query = "") =>
    api.app.inject({ url: `/v1/jobs/${id}/events${query}`, headers: { ...auth(KEY_A), ...headers } });

  it("replays a finished job's events with ids and types, then ends", async () => {
    const id = await newJob("sse");
    const result = await runJob(api.context, id, ["a", "b", "c"]);
    const response = await events(id);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    const parsed = parseSse(response.body);
    expect(parsed.map((event) => event.event)).toEqual([
      "job.queued",
      "job.started",
      "job.chunk",
      "job.chunk",
      "job.chunk",
      "job.chunk",
      "job.completed",
    ]);
    for (const event of parsed) {
      expect(event.id).toMatch(/^\d+-\d+$/);
      expect(event.data).toEqual({ type: event.event, job_id: id, event_id: event.id, data: expect.anything() });
    }
    expect(parsed[1].data).toMatchObject({ data: { attempt: 1 } });
    expect(parsed.at(-1)!.data).toMatchObject({ data: { result } });
    const text = parsed
      .filter((event) => event.event === "job.chunk")
      .map((event) => (event.data as { data: { choices: { delta: { content?: string } }[] } }).data.choices[0].delta.content ?? "")
      .join("");
    expect(text).toBe("abc");
  });

  it("resumes after Last-Event-ID (or ?after=) with exactly the later events", async () => {
    const id = await newJob("resume");
    await runJob(api.context, id, ["1", "2", "3", "4"]);
    const all = parseSse((await events(id)).body);
    const resumed = parseSse((await events(id, { "last-event-id": all[2].id! })).body);
    expect(resumed).toEqual(all.slice(3));
    const byQuery = parseSse((await events(id, {}, `?after=${all[4].id}`)).body);
    expect(byQuery).toEqual(all.slice(5));
    // The header wins over the query, as EventSource reconnects with both.
    expect(parseSse((await events(id, { "last-event-id": all[5].id! }, `?after=${all[1].id}`)).body)).toEqual(all.slice(6));
    // After the final event there is nothing left, and the stream still ends.
    expect(parseSse((await events(id, { "last-event-id": all.at(-1)!.id! })).body)).toEqual([]);
    const bad = await events(id, { "last-event-id": "yesterday" });
    expect(bad.statusCode).toBe(400);
  });

  it("follows a running job live and ends after its final event", async () => {
    const id = await newJob("live");
    await api.context.store.start(id, 1);
    const watched = api.context.hub.watchedJobs;
    const pending = events(id);
    // The stream has replayed the log and now waits on the hub for live events.
    await vi.waitFor(() => expect(api.context.hub.watchedJobs).toBe(watched + 1));
    const result = await runJobRest(id, ["x", "y"]);
    const parsed = parseSse((await pending).body);
    expect(parsed.map((event) => event.event)).toEqual(["job.queued", "job.started", "job.chunk", "job.chunk", "job.chunk", "job.completed"]);
    expect(parsed.at(-1)!.data).toMatchObject({ data: { result } });
  });

  it("ends with the cancel of a job cancelled while followed", async () => {
    const id = await newJob("cancel while followed");
    const watched = api.context.hub.watchedJobs;
    const pending = events(id);
    await vi.waitFor(() => expect(api.context.hub.watchedJobs).toBe(watched + 1));
    await api.app.inject({ method: "POST", url: `/v1/jobs/${id}/cancel`, headers: auth(KEY_A) });
    expect(parseSse((await pending).body).map((event) => event.event)).toEqual(["job.queued", "job.cancelled"]);
  });
});

/** The rest of a try whose `job.started` was already written. */
async function runJobRest(id: string, pieces: string[]) {
  const { fakeAnswer } = await import("./support/jobs-test-api.js");
  const { chunks, result } = fakeAnswer(pieces);
  for (const chunk of chunks) await api.context.store.appendChunks(id, 1, [chunk]);
  await api.context.store.complete(id, 1, result);
  return result;
}
