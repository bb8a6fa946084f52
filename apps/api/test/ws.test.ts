import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { KEY_A, KEY_B, ask, auth, fakeAnswer, runJob, startJobsApi, type JobsTestApi } from "./support/jobs-test-api.js";
import { readFrames, type Frame } from "./support/ws-client.js";
import { largestMetadata, refusedMetadata } from "./support/metadata-cases.js";

let api: JobsTestApi;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  api = await startJobsApi({}, { ws: { authTimeoutMs: 300 } });
});

afterAll(async () => {
  for (const socket of sockets) socket.terminate();
  await api?.close();
});

async function connect(headers: Record<string, string> = auth(KEY_A), path = "/v1/ws", target = api) {
  const socket = await target.app.injectWS(path, { headers });
  sockets.push(socket);
  return { socket, ...readFrames(socket) };
}

async function newJob(text: string, key = KEY_A): Promise<string> {
  const response = await api.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(key), payload: { request: ask(text) } });
  return response.json().id;
}

const ofJob = (jobId: string, type?: string) => (frame: Frame) => frame.job_id === jobId && (type === undefined || frame.type === type);
const eventTypes = (frames: Frame[], jobId: string) => frames.filter((frame) => frame.job_id === jobId && frame.type.startsWith("job.")).map((frame) => frame.type);

describe("WebSocket /v1/ws", () => {
  it("create → job.created with the client_ref, then every event; the chunks' text equals the result", async () => {
    const client = await connect();
    client.send({ type: "create", request: ask("over websocket"), client_ref: "req-1", metadata: { via: "ws" } });
    const created = await client.next((frame) => frame.type === "job.created");
    expect(created).toEqual({ type: "job.created", job_id: expect.stringMatching(/^job_/), client_ref: "req-1" });
    const jobId = created.job_id as string;
    await client.next(ofJob(jobId, "job.queued"));
    const result = await runJob(api.context, jobId, ["Hello", ", ", "world"]);
    const completed = await client.next(ofJob(jobId, "job.completed"));
    expect(completed).toEqual({ type: "job.completed", job_id: jobId, event_id: expect.stringMatching(/^\d+-\d+$/), data: { result } });
    expect(eventTypes(client.frames, jobId)).toEqual(["job.created", "job.queued", "job.started", "job.chunk", "job.chunk", "job.chunk", "job.chunk", "job.completed"]);
    const text = client.frames
      .filter(ofJob(jobId, "job.chunk"))
      .map((frame) => (frame.data as { choices: { delta: { content?: string } }[] }).choices[0].delta.content ?? "")
      .join("");
    expect(text).toBe(result.choices[0].message.content);
    // The job is an ordinary job of the key: readable over HTTP with its metadata.
    const job = (await api.app.inject({ url: `/v1/jobs/${jobId}`, headers: auth(KEY_A) })).json();
    expect(job).toMatchObject({ status: "succeeded", metadata: { via: "ws" }, result });
  });

  it("authenticates a browser-style client with its first frame", async () => {
    const client = await connect({});
    client.send({ type: "auth", api_key: KEY_A, client_ref: 7 });
    expect(await client.next((frame) => frame.type === "ack")).toEqual({ type: "ack", action: "auth", client_ref: 7 });
    client.send({ type: "create", request: ask("browser") });
    const created = await client.next((frame) => frame.type === "job.created");
    expect(created.client_ref).toBeNull();
    await client.next(ofJob(created.job_id as string, "job.queued"));
  });

  it("closes a connection without a key with 4401 on its first frame that is not a valid auth frame", async () => {
    const authenticateFirst = {
      type: "error",
      error: {
        message: 'Authenticate first: send {"type":"auth","api_key":"KEY"} as the first frame.',
        type: "authentication_error",
        param: null,
        code: "invalid_api_key",
      },
    };
    for (const first of [{ type: "subscribe", job_id: "job_whatever00000000000" }, "not json", { type: "auth" }, { type: "nonsense" }]) {
      const client = await connect({});
      client.send(first);
      expect(await client.closed(), JSON.stringify(first)).toEqual({ code: 4401, reason: "authentication failed" });
      // One error frame saying why, and nothing else was answered.
      expect(client.frames, JSON.stringify(first)).toEqual([authenticateFirst]);
    }
    // A large frame from a connection without a key is refused unread.
    const large = await connect({});
    large.send({ type: "auth", api_key: "x".repeat(8_000) });
    expect(await large.closed()).toEqual({ code: 4401, reason: "authentication failed" });
    expect(large.frames).toMatchObject([{ type: "error", error: { code: "invalid_api_key", message: expect.stringContaining("over 4096 bytes") } }]);
  });

  it("holds frames sent before the auth frame's answer in order", async () => {
    const client = await connect({});
    // Pipelined: the create waits for the auth frame's key check.
    client.send({ type: "auth", api_key: KEY_A });
    client.send({ type: "create", request: ask("pipelined"), client_ref: "p" });
    expect(await client.next((frame) => frame.type === "job.created")).toMatchObject({ client_ref: "p" });
  });

  it("closes with 4401 and an error frame on a wrong key in the auth frame", async () => {
    const client = await connect({});
    client.send({ type: "auth", api_key: "gw-wrong-key-000000000000000000" });
    expect(await client.next((frame) => frame.type === "error")).toEqual({
      type: "error",
      error: { message: "Incorrect API key in the auth frame.", type: "authentication_error", param: null, code: "invalid_api_key" },
    });
    expect(await client.closed()).toEqual({ code: 4401, reason: "authentication failed" });
  });

  it("closes with 4401 when no auth frame comes in time", async () => {
    const client = await connect({});
    expect(await client.closed()).toEqual({ code: 4401, reason: "authentication failed" });
    expect(client.frames).toEqual([
      {
        type: "error",
        error: {
          message: 'No auth frame within 300 ms: send {"type":"auth","api_key":"KEY"} first.',
          type: "authentication_error",
          param: null,
          code: "invalid_api_key",
        },
      },
    ]);
  });

  it("refuses the upgrade with 401 for a wrong key in the headers", async () => {
    await expect(api.app.injectWS("/v1/ws", { headers: auth("gw-wrong-key-000000000000000000") })).rejects.toThrow("Unexpected server response: 401");
  });

  it("answers a plain GET (no upgrade) with 426, under both prefixes", async () => {
    for (const path of ["/v1/ws", "/api/v1/ws"]) {
      const response = await api.app.inject({ url: path, headers: auth(KEY_A) });
      expect(response.statusCode).toBe(426);
      expect(response.headers.upgrade).toBe("websocket");
      expect(response.json()).toEqual({
        error: {
          message: "This route speaks WebSocket: connect with a WebSocket client (Upgrade: websocket).",
          type: "invalid_request_error",
          param: null,
          code: "invalid_request",
        },
      });
    }
  });

  it("answers a bad frame with an error frame and stays open", async () => {
    const client = await connect();
    const cases: [unknown, object][] = [
      ["{not json", { code: "invalid_json", message: "The frame is not valid JSON.", param: null }],
      [[1, 2], { code: "invalid_request", message: "A frame is a JSON object with a 'type'.", param: null }],
      [{ type: "launch", client_ref: "r" }, { code: "invalid_request", param: "type" }],
      [{ type: "subscribe", client_ref: "r2" }, { code: "invalid_request", message: "Missing required parameter: 'job_id'.", param: "job_id" }],
      [{ type: "create", request: { model: "deepseek-chat", messages: "hi" } }, { code: "invalid_request", message: "Invalid value for 'request.messages': must be array.", param: "request.messages" }],
      [{ type: "create", request: ask("x"), stream: true }, { code: "invalid_request", message: "Unrecognized request argument supplied: stream.", param: "stream" }],
      [{ type: "create", request: { ...ask("x"), model: "no-such-model" }, client_ref: "m" }, { code: "model_not_found", param: "model" }],
      [{ type: "subscribe", job_id: "job_neverexisted000000000", after: "yesterday" }, { code: "invalid_request", param: "after" }],
      [{ type: "auth", api_key: KEY_A }, { code: "invalid_request", message: "This connection is already authenticated." }],
    ];
    for (const [frame, error] of cases) {
      const from = client.frames.length;
      client.send(frame);
      const answer = await client.next((candidate) => candidate.type === "error", { from });
      expect(answer.error, JSON.stringify(frame)).toMatchObject(error);
    }
    expect(client.frames.find((frame) => frame.error && (frame.error as { param: string }).param === "type")).toMatchObject({ client_ref: "r" });
    expect(client.frames.find((frame) => frame.client_ref === "m")).toMatchObject({ type: "error" });
    // Still open and working.
    const jobId = await newJob("after bad frames");
    client.send({ type: "subscribe", job_id: jobId });
    await client.next(ofJob(jobId, "job.queued"));
  });

  it("replays a finished job on subscribe and ends with its final event; `after` gives only later events", async () => {
    const jobId = await newJob("finished before subscribe");
    await runJob(api.context, jobId, ["r", "e", "p"]);
    const client = await connect();
    const subscriptionsBefore = api.context.wsHub.stats().subscriptions;
    client.send({ type: "subscribe", job_id: jobId });
    await client.next(ofJob(jobId, "job.completed"));
    const replay = client.frames.filter(ofJob(jobId));
    expect(replay.map((frame) => frame.type)).toEqual(["job.queued", "job.started", "job.chunk", "job.chunk", "job.chunk", "job.chunk", "job.completed"]);
    const from = client.frames.length;
    client.send({ type: "subscribe", job_id: jobId, after: replay[3].event_id });
    await client.next(ofJob(jobId, "job.completed"), { from });
    expect(client.frames.slice(from)).toEqual(replay.slice(4));
    // Subscribing after the final event sends nothing and ends at once: no subscription is left.
    client.send({ type: "subscribe", job_id: jobId, after: replay.at(-1)!.event_id });
    await vi.waitFor(() => expect(api.context.wsHub.stats().subscriptions).toBe(subscriptionsBefore));
    expect(client.frames.slice(from)).toEqual(replay.slice(4));
  });

  it("answers another key's job exactly like an unknown one, for subscribe and cancel", async () => {
    const jobId = await newJob("not yours", KEY_B);
    const client = await connect();
    for (const type of ["subscribe", "cancel"]) {
      for (const id of [jobId, "job_neverexisted000000000"]) {
        const from = client.frames.length;
        client.send({ type, job_id: id, client_ref: type });
        expect(await client.next((frame) => frame.type === "error", { from })).toEqual({
          type: "error",
          error: { message: `No job with id '${id}'.`, type: "invalid_request_error", param: null, code: "job_not_found" },
          job_id: id,
          client_ref: type,
        });
      }
    }
    expect((await api.app.inject({ url: `/v1/jobs/${jobId}`, headers: auth(KEY_B) })).json().status).toBe("queued");
  });

  it("cancels by frame: ack, then job.cancelled to the subscriber; a second cancel is refused with 409", async () => {
    const client = await connect();
    client.send({ type: "create", request: ask("cancel by frame") });
    const jobId = (await client.next((frame) => frame.type === "job.created")).job_id as string;
    await client.next(ofJob(jobId, "job.queued"));
    client.send({ type: "cancel", job_id: jobId, client_ref: "c" });
    expect(await client.next((frame) => frame.type === "ack")).toEqual({ type: "ack", action: "cancel", job_id: jobId, client_ref: "c" });
    await client.next(ofJob(jobId, "job.cancelled"));
    client.send({ type: "cancel", job_id: jobId });
    expect(await client.next((frame) => frame.type === "error")).toMatchObject({ job_id: jobId, error: { code: "job_already_ended" } });
  });

  it("bounds a create frame's metadata as POST /v1/jobs does, and accepts the largest allowed", async () => {
    const client = await connect();
    for (const [index, { name, metadata, message, param }] of refusedMetadata.entries()) {
      client.send({ type: "create", request: ask(`ws metadata: ${name}`), metadata, client_ref: index });
      expect(await client.next((frame) => frame.type === "error" && frame.client_ref === index), name).toEqual({
        type: "error",
        error: { message, type: "invalid_request_error", param, code: "invalid_request" },
        client_ref: index,
      });
    }
    expect(client.frames.filter((frame) => frame.type === "job.created")).toEqual([]);
    client.send({ type: "create", request: ask("ws largest metadata"), metadata: largestMetadata, client_ref: "largest" });
    const created = await client.next((frame) => frame.type === "job.created");
    expect(created.client_ref).toBe("largest");
    const job = (await api.app.inject({ url: `/v1/jobs/${created.job_id}`, headers: auth(KEY_A) })).json();
    expect(job.metadata).toEqual(largestMetadata);
  });

  it("holds many subscriptions per connection, and one hub watch per job for all sockets", async () => {
    const ids = await Promise.all(["m1", "m2", "m3"].map((text) => newJob(text)));
    const first = await connect();
    const second = await connect();
    const watchedBefore = api.context.hub.watchedJobs;
    for (const id of ids) first.send({ type: "subscribe", job_id: id });
    second.send({ type: "subscribe", job_id: ids[0] });
    for (const id of ids) await first.next(ofJob(id, "job.queued"));
    await second.next(ofJob(ids[0], "job.queued"));
    await vi.waitFor(() => expect(api.context.hub.watchedJobs).toBe(watchedBefore + 3));
    for (const id of ids) await runJob(api.context, id, [id]);
    for (const id of ids) await first.next(ofJob(id, "job.completed"));
    await second.next(ofJob(ids[0], "job.completed"));
    expect(api.context.hub.watchedJobs).toBe(watchedBefore);
  });

  it("answers a burst of frames beyond the in-flight bound by reading slower, not by refusing", async () => {
    const client = await connect();
    for (let i = 0; i < 300; i++) client.send({ type: "unsubscribe", job_id: "job_notsubscribedto000000", client_ref: i });
    await vi.waitFor(() => expect(client.frames).toHaveLength(300));
    // Every frame answered, in the order sent.
    expect(client.frames.map((frame) => frame.client_ref)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(new Set(client.frames.map((frame) => frame.type))).toEqual(new Set(["ack"]));
  });

  it("stops a job's events after unsubscribe", async () => {
    const jobId = await newJob("unsubscribe");
    const leaving = await connect();
    const staying = await connect();
    for (const client of [leaving, staying]) {
      client.send({ type: "subscribe", job_id: jobId });
      await client.next(ofJob(jobId, "job.queued"));
    }
    leaving.send({ type: "unsubscribe", job_id: jobId });
    expect(await leaving.next((frame) => frame.type === "ack")).toEqual({ type: "ack", action: "unsubscribe", job_id: jobId });
    await runJob(api.context, jobId, ["gone"]);
    // Both sockets are fed by the same hub message: once one has the end, the other would have it too.
    await staying.next(ofJob(jobId, "job.completed"));
    expect(eventTypes(leaving.frames, jobId)).toEqual(["job.queued"]);
  });

  it("rate-limits create frames like requests", async () => {
    const limited = await startJobsApi({ RATE_LIMIT_ENABLED: "true", RATE_LIMIT_PER_MINUTE: "2" });
    try {
      const client = await connect(auth(KEY_A), "/api/v1/ws", limited);
      for (let i = 0; i < 3; i++) client.send({ type: "create", request: ask(`limited ${i}`), client_ref: i });
      const refused = await client.next((frame) => frame.type === "error");
      expect(refused).toMatchObject({ client_ref: 2, error: { code: "rate_limit_exceeded", type: "rate_limit_error" } });
      expect(client.frames.filter((frame) => frame.type === "job.created").map((frame) => frame.client_ref)).toEqual([0, 1]);
    } finally {
      await limited.close();
    }
  });
});

describe("WebSocket connection health (real sockets)", () => {
  const servers: JobsTestApi[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  async function listen(ws: { heartbeatIntervalMs: number; maxBufferedBytes?: number }) {
    const server = await startJobsApi({}, { ws });
    servers.push(server);
    await server.app.listen({ host: "127.0.0.1", port: 0 });
    return { server, url: `ws://127.0.0.1:${(server.app.server.address() as AddressInfo).port}/v1/ws` };
  }

  const open = async (url: string, options: WebSocket.ClientOptions = {}) => {
    const socket = new WebSocket(url, { headers: auth(KEY_A), ...options });
    sockets.push(socket);
    const reader = readFrames(socket);
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    return { socket, ...reader };
  };

  it("keeps a peer that answers pings, and drops one that does not", async () => {
    const { url } = await listen({ heartbeatIntervalMs: 100 });
    const healthy = await open(url);
    const dead = await open(url, { autoPong: false });
    expect(await dead.closed(3_000)).toMatchObject({ code: 1006 });
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
  });

  it("closes a slow reader with 1013 instead of buffering without end", async () => {
    // A heartbeat slower than the test: the paused reader must be cut for its backlog, not for missed pongs.
    const { server: live, url } = await listen({ heartbeatIntervalMs: 60_000, maxBufferedBytes: 64 * 1024 });
    const jobId = (await live.app.inject({ method: "POST", url: "/v1/jobs", headers: auth(KEY_A), payload: { request: ask("flood") } })).json().id;
    const slow = await open(url);
    slow.send({ type: "subscribe", job_id: jobId });
    await slow.next(ofJob(jobId, "job.queued"));
    // Stop reading: the kernel buffers fill, then the server's send buffer grows.
    slow.socket.pause();
    await live.context.store.start(jobId, 1);
    const { chunks } = fakeAnswer(["x".repeat(16 * 1024)]);
    for (let i = 0; i < 2_000 && live.context.wsHub.stats().slowReadersClosed === 0; i++) {
      await live.context.store.appendChunks(jobId, 1, [chunks[0]]);
    }
    expect(live.context.wsHub.stats()).toMatchObject({ slowReadersClosed: 1, subscriptions: 0 });
    slow.socket.resume();
    expect(await slow.closed()).toEqual({ code: 1013, reason: "slow reader: too much unread data" });
  });
});
