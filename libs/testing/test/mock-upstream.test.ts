import { spawn } from "node:child_process";
import { connect } from "node:net";
import { resolve } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MOCK_MODELS, loremWords, startMockUpstream, type MockUpstream } from "@llmgw/testing";

let mock: MockUpstream;
beforeAll(async () => {
  mock = await startMockUpstream();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

const auth = { authorization: "Bearer anything", "content-type": "application/json" };

function post(body: unknown, headers: Record<string, string> = auth) {
  return fetch(`${mock.url}/chat/completions`, { method: "POST", headers, body: JSON.stringify(body) });
}

/** The raw HTTP chunks of a response: one per `res.write` on the mock's side, whatever TCP did. */
async function rawChunks(body: unknown): Promise<Buffer[]> {
  const payload = JSON.stringify(body);
  const socket = connect(mock.port, "127.0.0.1");
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer raw\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`,
  );
  const parts: Buffer[] = [];
  for await (const part of socket) parts.push(part as Buffer);
  const raw = Buffer.concat(parts);
  let offset = raw.indexOf("\r\n\r\n") + 4;
  expect(raw.subarray(0, offset).toString()).toMatch(/transfer-encoding: chunked/i);
  const chunks: Buffer[] = [];
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", offset);
    const size = parseInt(raw.subarray(offset, lineEnd).toString(), 16);
    if (size === 0) return chunks;
    chunks.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/** True when the bytes end inside a UTF-8 sequence. */
function endsMidCharacter(bytes: Buffer): boolean {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back];
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back;
  }
  return false;
}

describe("mock upstream", () => {
  it("answers 401 without a bearer token, and records the call", async () => {
    const response = await post({ model: "m", messages: [] }, { "content-type": "application/json" });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: { message: "mock: missing bearer token", type: "invalid_request_error", param: null, code: "invalid_api_key" },
    });
    expect(mock.calls).toHaveLength(1);
    expect(mock.calls[0].headers.authorization).toBeUndefined();
  });

  it("lists its models and answers 404 elsewhere", async () => {
    const models = await fetch(`${mock.url}/models`, { headers: auth });
    expect(await models.json()).toEqual({
      object: "list",
      data: MOCK_MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "mock" })),
    });
    const missing = await fetch(`${mock.url}/embeddings`, { method: "POST", headers: auth, body: "{}" });
    expect(missing.status).toBe(404);
  });

  it("answers mock-error-400 with the documented body", async () => {
    const response = await post({ model: "mock-error-400", messages: [{ role: "user", content: "x" }] });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { message: "mock bad request", type: "invalid_request_error", param: "messages", code: "mock_bad_request" },
    });
  });

  it("derives the answer from the request alone", async () => {
    const request = { model: "m", messages: [{ role: "user", content: "[[mock:words=5]] ignored" }] };
    type Completion = { id: string; choices: { message: { content: string } }[]; usage: unknown };
    const first = (await (await post(request)).json()) as Completion;
    const second = (await (await post({ ...request, stream: false })).json()) as Completion;
    expect(second).toEqual(first);
    expect(first.choices[0].message.content).toBe(loremWords(5));
    expect(loremWords(5)).toBe("lorem ipsum dolor sit amet");
    expect(first.usage).toEqual({ prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 });
    const other = (await (await post({ ...request, temperature: 1 })).json()) as Completion;
    expect(other.id).not.toBe(first.id);
  });

  it("writes SSE at odd boundaries: mid-line, mid-UTF-8, with keep-alive comments and blank lines", async () => {
    const text = "你好🌍 ".repeat(30);
    const request = { model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: text }] };
    const chunks = await rawChunks(request);
    const body = Buffer.concat(chunks).toString("utf8");
    expect(chunks.some((chunk) => !chunk.toString("latin1").endsWith("\n"))).toBe(true);
    expect(chunks.some(endsMidCharacter)).toBe(true);
    expect(body.startsWith(": keep-alive\n\n")).toBe(true);
    expect(body).toContain("\n\n\ndata: ");
    expect(body.endsWith("data: [DONE]\n\n")).toBe(true);
    const events = body
      .split("\n")
      .filter((line) => line.startsWith("data: {"))
      .map((line) => JSON.parse(line.slice(6)));
    expect(events.map((event) => event.choices[0]?.delta.content ?? "").join("")).toBe(`Echo: ${text}`);
    expect(events.at(-2).choices[0].finish_reason).toBe("stop");
    expect(events.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 30, completion_tokens: 31, total_tokens: 61 } });
  });

  it("fails only the first N calls of a times directive, with Retry-After, until reset", async () => {
    const request = { model: "m", messages: [{ role: "user", content: "[[mock:status=429,times=2,retry_after=1]]" }] };
    const first = await post(request);
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("1");
    expect(await first.json()).toEqual({
      error: { message: "mock status 429", type: "rate_limit_error", param: null, code: "mock_status_429" },
    });
    expect((await post(request)).status).toBe(429);
    expect((await post(request)).status).toBe(200);
    mock.reset();
    expect((await post(request)).status).toBe(429);
  });

  it("counts a client that leaves a hanging call as an abort", async () => {
    const controller = new AbortController();
    const pending = post({ model: "m", messages: [{ role: "user", content: "[[mock:hang]]" }] });
    void pending.catch(() => undefined);
    const request = fetch(`${mock.url}/chat/completions`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "[[mock:hang]]" }] }),
      signal: controller.signal,
    });
    await mock.waitForCalls(2);
    expect(mock.aborts).toBe(0);
    controller.abort();
    await expect(request).rejects.toThrow();
    await mock.waitForAbort(1);
    expect(mock.aborts).toBe(1);
  });

  it("says what it waited for when a wait times out", async () => {
    await expect(mock.waitForAbort(1, 20)).rejects.toThrow("mock upstream: timed out after 20 ms waiting for 1 aborts (saw 0)");
    await expect(mock.waitForCalls(3, 20)).rejects.toThrow("waiting for 3 calls (saw 0)");
  });

  it("runs alone from its built entry, prints its URL and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [resolve("libs/testing/dist/mock-upstream-main.js")], {
      env: { ...process.env, MOCK_PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const line = await new Promise<string>((resolveLine, reject) => {
      child.stdout.once("data", (data: Buffer) => resolveLine(data.toString()));
      child.once("exit", (code) => reject(new Error(`exited with ${code}`)));
    });
    const url = /^mock upstream listening on (http:\/\/127\.0\.0\.1:\d+\/v1)\n$/.exec(line)?.[1];
    expect(url).toBeDefined();
    expect((await fetch(`${url}/models`, { headers: auth })).status).toBe(200);
    const exited = new Promise<number | null>((resolveExit) => child.once("exit", resolveExit));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
