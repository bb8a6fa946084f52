import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// Slow and anonymous clients against the built API as a real process, over real sockets.
const REQUEST_TIMEOUT_MS = 1500;
const HEADERS_TIMEOUT_MS = 1000;
const KEEP_ALIVE_TIMEOUT_MS = 1000;
/** Node looks for requests past their time once a second (connectionsCheckingInterval). */
const CHECK_INTERVAL_MS = 1000;
const MIB = 1024 * 1024;

let stack: MockedGateway;

beforeAll(async () => {
  stack = await startMockedGateway({
    env: {
      RATE_LIMIT_ENABLED: "false",
      CACHE_ENABLED: "false",
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    },
  });
});

afterAll(() => stack?.stop());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent to the whole answer received. */
  ms: number;
}

interface SlowClient {
  socket: Socket;
  /** The first complete HTTP answer on the socket. */
  answer: Promise<RawAnswer>;
  /** Resolves when the server closed the connection, with the body bytes this client had sent by then. */
  closed: Promise<{ ms: number; bodyBytesSent: number }>;
}

/**
 * Opens a raw connection, sends `head` at once, then trickles `trickle` every `everyMs` until the
 * server closes the connection: a client that is slow on purpose.
 */
function slowClient(head: string, trickle: string, everyMs: number, options: { countsAsBody?: boolean } = {}): SlowClient {
  const socket = connect(stack.gateway.port, "127.0.0.1");
  const started = Date.now();
  let bodyBytesSent = 0;
  let received = "";
  let timer: NodeJS.Timeout | undefined;
  socket.on("error", () => {}); // EPIPE / ECONNRESET once the server has closed: expected
  socket.once("connect", () => {
    socket.write(head);
    timer = setInterval(() => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(trickle);
      if (options.countsAsBody !== false) bodyBytesSent += trickle.length;
    }, everyMs);
  });
  const answer = new Promise<RawAnswer>((resolve) => {
    socket.on("data", (data: Buffer) => {
      received += data.toString("latin1");
      const parsed = parseAnswer(received);
      if (parsed) resolve({ ...parsed, ms: Date.now() - started });
    });
  });
  const closed = new Promise<{ ms: number; bodyBytesSent: number }>((resolve) => {
    socket.once("close", () => {
      clearInterval(timer);
      resolve({ ms: Date.now() - started, bodyBytesSent });
    });
  });
  return { socket, answer, closed };
}

/** One HTTP/1.1 answer with a Content-Length, once all of it is there. */
function parseAnswer(text: string): Omit<RawAnswer, "ms"> | null {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
  const body = text.slice(end + 4);
  if (body.length < Number(headers["content-length"] ?? 0)) return null;
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

const uploadHead = (headers: Record<string, string> = {}) =>
  [
    "POST /v1/chat/completions HTTP/1.1",
    "Host: gateway",
    "Content-Type: application/json",
    `Content-Length: ${MIB}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");

async function heapUsedBytes(): Promise<number> {
  const text = await (await fetch(`${stack.gateway.url}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
}

const errorBody = (code: string, type: string, message: string) => ({ error: { message, type, param: null, code } });

describe("slow and anonymous clients", () => {
  it("answers 200 slow anonymous 1 MiB uploads with 401 at once, reads none of their bodies, and keeps serving keyed clients", async () => {
    const heapBefore = await heapUsedBytes();
    const attackers = Array.from({ length: 200 }, () => slowClient(uploadHead(), '{"model":"x",', 50));
    // A keyed client arriving in the middle of the attack.
    const keyedStarted = Date.now();
    const models = await fetch(`${stack.gateway.url}/v1/models`, { headers: { authorization: `Bearer ${stack.clientKey}` } });
    const keyedMs = Date.now() - keyedStarted;
    expect(models.status).toBe(200);
    expect(keyedMs).toBeLessThan(1000);

    const answers = await Promise.all(attackers.map((attacker) => attacker.answer));
    const closes = await Promise.all(attackers.map((attacker) => attacker.closed));
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toEqual(
        errorBody("invalid_api_key", "authentication_error", "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."),
      );
      // Answered on the headers alone, and the connection closed with the answer: nothing more is read.
      expect(answer.headers.connection).toBe("close");
      expect(answer.ms).toBeLessThan(REQUEST_TIMEOUT_MS);
    }
    for (const close of closes) {
      expect(close.ms).toBeLessThan(REQUEST_TIMEOUT_MS);
      // Of the 1 MiB announced, each client got at most a few trickles out before the server hung up.
      expect(close.bodyBytesSent).toBeLessThan(MIB / 1000);
    }
    // A real request with a key, after the attack: answered as usual.
    const completion = await stack.client.chat.completions.create({ model: "deepseek-chat", messages: [{ role: "user", content: "still there?" }] });
    expect(completion.choices[0].message.content).toEqual(expect.any(String));
    // 200 connections that sent headers only: nothing like 200 buffered bodies (or even one MiB each) stays on the heap.
    expect((await heapUsedBytes()) - heapBefore).toBeLessThan(32 * MIB);
  });

  it("answers a keyed upload that stalls with 408 in the OpenAI error shape after REQUEST_TIMEOUT_MS, and closes it", async () => {
    const stalled = slowClient(uploadHead({ Authorization: `Bearer ${stack.clientKey}` }), "", 60_000);
    stalled.socket.once("connect", () => stalled.socket.write('{"model":"deepseek-chat"'));
    const answer = await stalled.answer;
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual(
      errorBody(
        "request_timeout",
        "invalid_request_error",
        "The request was not received in time (HEADERS_TIMEOUT_MS for its headers, REQUEST_TIMEOUT_MS for all of it).",
      ),
    );
    expect(answer.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
    expect(answer.ms).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + 1000);
    await stalled.closed;
  });

  it("answers headers that never end (slowloris) with 408 after HEADERS_TIMEOUT_MS, and closes the connection", async () => {
    const loris = slowClient("GET /v1/models HTTP/1.1\r\nHost: gateway\r\n", "X-Slow: 1\r\n", 200, { countsAsBody: false });
    const answer = await loris.answer;
    expect([answer.status, JSON.parse(answer.body).error.code]).toEqual([408, "request_timeout"]);
    expect(answer.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(answer.ms).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + 1000);
    await loris.closed;
  });

  it("lets a synchronous JSON wait run well past REQUEST_TIMEOUT_MS: the timeout covers receiving the request only", async () => {
    const started = Date.now();
    const waitMs = REQUEST_TIMEOUT_MS + 2 * CHECK_INTERVAL_MS;
    const completion = await stack.client.chat.completions.create({
      model: "deepseek-chat",
      messages: [{ role: "user", content: `slow answer [[mock:delay=${waitMs}]]` }],
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(waitMs);
    expect(completion.choices[0].finish_reason).toBe("stop");
  });

  it("lets an SSE stream run well past REQUEST_TIMEOUT_MS, to its [DONE]", async () => {
    const started = Date.now();
    const response = await stack.complete({
      model: "deepseek-chat",
      stream: true,
      messages: [{ role: "user", content: "slow stream [[mock:words=16,chunk_delay=120]]" }],
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(Date.now() - started).toBeGreaterThan(REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(text).not.toContain('"error"');
  });

  it("closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_MS", async () => {
    const idle = slowClient("GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n", "", 60_000, { countsAsBody: false });
    const answer = await idle.answer;
    expect(answer.status).toBe(200);
    expect(answer.headers["keep-alive"]).toBe(`timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`);
    const closed = await idle.closed;
    expect(closed.ms).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS - 50);
    expect(closed.ms).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 2000);
  });
});
