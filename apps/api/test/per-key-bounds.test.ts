import type { AddressInfo } from "node:net";
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KEY_A, KEY_B, ask, auth, parseSse, startJobsApi, type JobsTestApi } from "./support/jobs-test-api.js";
import { readFrames } from "./support/ws-client.js";

/**
 * Per-key bounds on reads and on held connections, attacked for real: SSE streams and WebSockets
 * over TCP against a listening API, counters in the test run's Redis.
 */
let capped: JobsTestApi;
let baseUrl: string;
let limited: JobsTestApi;
const sockets: WebSocket[] = [];
const streams: AbortController[] = [];

beforeAll(async () => {
  // Caps of 2 with a generous read limit, one subscription per socket.
  capped = await startJobsApi(
    { MAX_EVENT_STREAMS_PER_KEY: "2", MAX_WEBSOCKETS_PER_KEY: "2", RATE_LIMIT_ENABLED: "true" },
    { ws: { maxSubscriptionsPerConnection: 1 } },
  );
  await capped.app.listen({ host: "127.0.0.1", port: 0 });
  baseUrl = `127.0.0.1:${(capped.app.server.address() as AddressInfo).port}`;
  // A read limit of 5 a minute and event streams that live 300 ms.
  limited = await startJobsApi({ RATE_LIMIT_ENABLED: "true", READ_RATE_LIMIT_PER_MINUTE: "5", EVENT_STREAM_MAX_MS: "300" });
});

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  for (const stream of streams) stream.abort();
  await capped?.close();
  await limited?.close();
});

async function newJob(target: JobsTestApi, key = KEY_A): Promise<string> {
  const response = await target.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(key), payload: { request: ask("bounded") } });
  expect(response.statusCode).toBe(202);
  return response.json().id;
}

/** Opens `GET /v1/jobs/:id/events` over TCP; the stream stays open until `close`. */
async function openEvents(jobId: string) {
  const controller = new AbortController();
  streams.push(controller);
  const response = await fetch(`http://${baseUrl}/v1/jobs/${jobId}/events`, { headers: auth(KEY_A), signal: controller.signal });
  return { response, close: () => controller.abort() };
}

/** Opens a WebSocket; resolves with the reader once open, or with the refusing HTTP answer. */
function openSocket(headers: Record<string, string>) {
  const socket = new WebSocket(`ws://${baseUrl}/v1/ws`, { headers });
  sockets.push(socket);
  const reader = readFrames(socket);
  return new Promise<{ socket: WebSocket; reader: typeof reader } | { refused: IncomingMessage; body: Promise<string> }>((resolve, reject) => {
    socket.once("open", () => resolve({ socket, reader }));
    socket.once("unexpected-response", (_request, response) => {
      const body = new Promise<string>((done) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => done(text));
      });
      resolve({ refused: response, body });
    });
    socket.once("error", reject);
  });
}

const tooMany = (what: string, variable: string) => ({
  error: {
    message: `Too many open ${what} for this API key: at most 2 at once (${variable}). Close one, then try again.`,
    type: "rate_limit_error",
    param: null,
    code: "too_many_connections",
  },
});

describe("open event streams per key (MAX_EVENT_STREAMS_PER_KEY)", () => {
  it("answers 429 too_many_connections for the stream past the cap, and closing one frees its slot", async () => {
    const ids = await Promise.all([newJob(capped), newJob(capped), newJob(capped)]);
    const first = await openEvents(ids[0]);
    const second = await openEvents(ids[1]);
    expect([first.response.status, second.response.status]).toEqual([200, 200]);
    expect(second.response.headers.get("x-ratelimit-limit-streams")).toBe("2");
    expect(second.response.headers.get("x-ratelimit-remaining-streams")).toBe("0");

    const third = await openEvents(ids[2]);
    expect(third.response.status).toBe(429);
    expect(await third.response.json()).toEqual(tooMany("event streams", "MAX_EVENT_STREAMS_PER_KEY"));
    expect(third.response.headers.get("retry-after")).toBe("1");
    expect(third.response.headers.get("x-ratelimit-limit-streams")).toBe("2");
    expect(third.response.headers.get("x-ratelimit-remaining-streams")).toBe("0");
    // The request and read families are there as on every authenticated answer.
    expect(third.response.headers.get("x-ratelimit-limit-requests")).toBe("60");
    expect(third.response.headers.get("x-ratelimit-limit-reads")).toBe("600");

    // Another key is not affected.
    const otherJob = await newJob(capped, KEY_B);
    const other = await fetch(`http://${baseUrl}/v1/jobs/${otherJob}/events`, { headers: auth(KEY_B), signal: AbortSignal.timeout(5_000) }).catch(
      (error: Error) => error,
    );
    expect(other).not.toBeInstanceOf(Error);
    expect((other as Response).status).toBe(200);
    await (other as Response).body?.cancel();

    first.close();
    // The slot frees once the server has seen the close: retry until it has.
    await vi.waitFor(
      async () => {
        const again = await openEvents(ids[2]);
        if (again.response.status !== 200) await again.response.body?.cancel();
        expect(again.response.status).toBe(200);
      },
      { timeout: 5_000, interval: 50 },
    );
    second.close();
  });
});

describe("open WebSockets per key (MAX_WEBSOCKETS_PER_KEY)", () => {
  it("refuses the socket past the cap with 429 before the upgrade, and one frame-authenticated with 4429; a close frees a slot", async () => {
    // Slots freed by the stream test above are gone by now: sockets count apart from streams.
    const first = await openSocket(auth(KEY_A));
    const second = await openSocket(auth(KEY_A));
    expect("socket" in first && "socket" in second).toBe(true);

    const third = await openSocket(auth(KEY_A));
    if (!("refused" in third)) throw new Error("the third socket was accepted");
    expect(third.refused.statusCode).toBe(429);
    expect(third.refused.headers["retry-after"]).toBe("1");
    expect(third.refused.headers["x-ratelimit-limit-sockets"]).toBe("2");
    expect(third.refused.headers["x-ratelimit-remaining-sockets"]).toBe("0");
    expect(JSON.parse(await third.body)).toEqual(tooMany("WebSocket connections", "MAX_WEBSOCKETS_PER_KEY"));

    // A browser-style socket (no header key) is refused at its auth frame.
    const browser = await openSocket({});
    if (!("socket" in browser)) throw new Error("the upgrade without a key was refused");
    browser.reader.send({ type: "auth", api_key: KEY_A });
    expect(await browser.reader.closed()).toEqual({ code: 4429, reason: "too many connections for this API key" });
    expect(browser.reader.frames).toEqual([{ type: "error", ...tooMany("WebSocket connections", "MAX_WEBSOCKETS_PER_KEY") }]);

    if ("socket" in first) first.socket.close();
    await vi.waitFor(
      async () => {
        const again = await openSocket(auth(KEY_A));
        expect("socket" in again).toBe(true);
      },
      { timeout: 5_000, interval: 50 },
    );
  });

  it("a create at the subscription cap still creates the job, and an error frame says it is not subscribed", async () => {
    // The other test's sockets hold the key's slots: use the other key.
    const opened = await openSocket(auth(KEY_B));
    if (!("socket" in opened)) throw new Error("refused");
    const client = opened.reader;
    client.send({ type: "create", request: ask("first"), client_ref: "one" });
    const first = await client.next((frame) => frame.type === "job.created");
    await client.next((frame) => frame.job_id === first.job_id && frame.type === "job.queued");
    client.send({ type: "create", request: ask("second"), client_ref: "two" });
    const second = await client.next((frame) => frame.type === "job.created" && frame.client_ref === "two");
    const error = await client.next((frame) => frame.type === "error");
    expect(error).toEqual({
      type: "error",
      error: {
        message: `Subscription limit reached: at most 1 subscriptions per connection. Job ${second.job_id} was created but this connection is not subscribed to it: unsubscribe from another job, then subscribe to it.`,
        type: "invalid_request_error",
        param: null,
        code: "invalid_request",
      },
      job_id: second.job_id,
      client_ref: "two",
    });
    expect(capped.context.wsHub.stats().subscriptions).toBeLessThanOrEqual(3);
    const job = await capped.app.inject({ url: `/v1/jobs/${second.job_id}`, headers: auth(KEY_B) });
    expect(job.json()).toMatchObject({ id: second.job_id, status: "queued" });
    // After an unsubscribe the created job can be followed.
    client.send({ type: "unsubscribe", job_id: first.job_id });
    client.send({ type: "subscribe", job_id: second.job_id });
    await client.next((frame) => frame.job_id === second.job_id && frame.type === "job.queued");
  });
});

describe("reads per key (READ_RATE_LIMIT_PER_MINUTE)", () => {
  it("answers 429 with x-ratelimit-*-reads past the read limit, while completions still go through", async () => {
    const jobId = await newJob(limited, KEY_B);
    const reads = [
      () => limited.app.inject({ url: `/v1/jobs/${jobId}`, headers: auth(KEY_B) }),
      () => limited.app.inject({ url: "/v1/jobs", headers: auth(KEY_B) }),
    ];
    for (let i = 0; i < 5; i++) {
      const response = await reads[i % 2]();
      expect(response.statusCode).toBe(200);
      expect(response.headers["x-ratelimit-limit-reads"]).toBe("5");
      expect(response.headers["x-ratelimit-remaining-reads"]).toBe(String(4 - i));
    }
    for (const read of [...reads, () => limited.app.inject({ url: `/v1/jobs/${jobId}/events`, headers: auth(KEY_B) })]) {
      const refused = await read();
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toEqual({
        error: {
          message: expect.stringMatching(/^Read rate limit reached: 5 reads per minute for this API key \(.*READ_RATE_LIMIT_PER_MINUTE\)\. Try again in \d+ s\.$/),
          type: "rate_limit_error",
          param: null,
          code: "rate_limit_exceeded",
        },
      });
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(refused.headers["x-ratelimit-remaining-reads"]).toBe("0");
      expect(refused.headers["x-ratelimit-reset-reads"]).toMatch(/s$/);
      // The request limits are untouched by reads.
      expect(refused.headers["x-ratelimit-remaining-requests"]).toBe("59");
    }
    // Work still goes through: a submit counts against the request limits only.
    const submitted = await limited.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(KEY_B), payload: { request: ask("still works") } });
    expect(submitted.statusCode).toBe(202);
    // WebSocket subscribe, unsubscribe and cancel count as reads too.
    const socket = await limited.app.injectWS("/v1/ws", { headers: auth(KEY_B) });
    sockets.push(socket);
    const client = readFrames(socket);
    for (const frame of [{ type: "subscribe", job_id: jobId }, { type: "unsubscribe", job_id: jobId }, { type: "cancel", job_id: jobId }]) {
      client.send({ ...frame, client_ref: frame.type });
      expect(await client.next((answer) => answer.client_ref === frame.type)).toMatchObject({
        type: "error",
        job_id: jobId,
        error: { code: "rate_limit_exceeded", message: expect.stringContaining("Read rate limit reached") },
      });
    }
    // The other key's reads are its own.
    expect((await limited.app.inject({ url: "/v1/jobs", headers: auth(KEY_A) })).statusCode).toBe(200);
  });
});

describe("event stream lifetime (EVENT_STREAM_MAX_MS)", () => {
  it("ends a stream past its lifetime with a reconnect event, and Last-Event-ID resumes it", async () => {
    const jobId = await newJob(limited, KEY_A);
    const first = await limited.app.inject({ url: `/v1/jobs/${jobId}/events`, headers: auth(KEY_A) });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain("\n: stream lifetime reached; resume with Last-Event-ID\n\n");
    const events = parseSse(first.body);
    const queued = events[0];
    expect(queued.event).toBe("job.queued");
    expect(events.at(-1)).toEqual({
      id: undefined,
      event: "reconnect",
      data: {
        type: "reconnect",
        job_id: jobId,
        last_event_id: queued.id,
        message: "This stream reached its lifetime (EVENT_STREAM_MAX_MS): reconnect with Last-Event-ID to resume.",
      },
    });
    // Resumed after the last event: the job ends meanwhile, and the stream carries exactly the rest.
    await limited.context.store.cancel(jobId);
    const resumed = await limited.app.inject({ url: `/v1/jobs/${jobId}/events`, headers: { ...auth(KEY_A), "last-event-id": queued.id! } });
    expect(parseSse(resumed.body).map((event) => event.event)).toEqual(["job.cancelled"]);
  });
});
