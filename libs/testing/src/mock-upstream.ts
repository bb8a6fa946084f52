/**
 * A mock OpenAI-compatible upstream on a real HTTP server: the upstream of tests, benchmarks
 * and the no-key demo. Routes: `POST /v1/chat/completions` (JSON, or SSE with `stream: true`)
 * and `GET /v1/models`. Every request needs `Authorization: Bearer <anything>` (else 401).
 *
 * Answers are derived from the request only: the text is `"Echo: " + last user message text`
 * (directives included), `id`, `created` and the stream's boundaries come from a hash of the
 * request without `stream`/`stream_options`, so a JSON call and the assembled stream of the
 * same request are equal, as with real providers only nearly: OpenAI's JSON has `annotations: []`
 * its stream never sends, and with `extras` the filter results differ as Azure's do.
 * Usage counts words.
 *
 * The shape follows the provider of the model name, so pass-through is tested against real shapes:
 *   gpt-*, o1*, o3*, o4*, chatgpt-*   OpenAI: message `refusal: null` and `annotations: []`,
 *                         `service_tier`, `system_fingerprint`, usage with `prompt_tokens_details`
 *                         and `completion_tokens_details`; first delta `{role, content: "", refusal: null}`
 *   deepseek-*            DeepSeek: no `refusal`/`annotations`; usage with `prompt_tokens_details`,
 *                         `prompt_cache_hit_tokens`, `prompt_cache_miss_tokens` (and with reasoning
 *                         `completion_tokens_details.reasoning_tokens`); `deepseek-reasoner` reasons
 *   anything else         the bare OpenAI-compatible answer (`mock-model`): no details, no tier
 * Streams follow OpenAI: with `stream_options.include_usage: true` every chunk carries `"usage": null`
 * and a last chunk `"choices": []` carries the usage; without it, no usage field and no usage chunk.
 * The request also shapes the answer, as it would a real model's:
 *   n: k                  k choices (`(2) Echo: …` from the second on); streamed one choice per
 *                         chunk, interleaved
 *   logprobs: true        `choices[].logprobs.content`: one entry per streamed piece (token, logprob,
 *                         bytes, `top_logprobs` with `top_logprobs: k` entries); per chunk in streams
 *   response_format       `json_schema`: content is JSON valid against the schema (mock-json-schema.ts);
 *                         `json_object`: `{"echo": last user text}`
 *
 * Every call's answer is recorded as sent (`MockCall.answer`): the JSON body text, or the SSE
 * `data:` payloads in order (`[DONE]` left out), so a test can compare the gateway's output with it.
 *
 * Behaviour is steered from the last user message, since tests reach the mock through
 * gateway processes. Directives are `[[mock:key=value,flag,…]]`; several may appear:
 *   status=N              answer HTTP N with an error body (always, or see `times`)
 *   times=N               with status: fail only the first N calls carrying that same directive
 *                         text (add e.g. `id=abc` to the directive to get a fresh counter)
 *   retry_after=S         with status: `Retry-After: S` header (seconds)
 *   retry_after_ms=MS     with status: `retry-after-ms: MS` header
 *   retry_after_date=S    with status: `Retry-After` as an HTTP date S seconds ahead
 *   error_body=SHAPE      with status: openai (default) | message (`{message}`) | string
 *                         (`{error:"…"}`) | text (text/plain) | empty | echo_key (the OpenAI
 *                         shape, message quoting the caller's bearer token)
 *   delay=MS              wait before the response headers
 *   hang                  never answer; the client closing counts as an abort
 *   hang_after=N          stream N chunks, then hang (JSON: half the body, then hang)
 *   keepalive_after=N     stream N chunks, then only `: keep-alive` comments every 100 ms, forever
 *   drop_after=N          stream N chunks, then destroy the socket (JSON: half the body, then drop)
 *   stream_error_after=N  stream N chunks, then a `data: {"error":…}` event and the end
 *   chunk_delay=MS        pause between streamed chunks
 *   words=N               answer N lorem-style words instead of the echo
 *   tool                  with `tools` in the request: call the first tool with {"city":"Paris"}
 *   parallel_tools        with `tools` in the request: call every tool in one answer (a single tool
 *                         twice), arguments generated from its `parameters` schema; streamed as
 *                         OpenAI does: per call an `index`, id and name in its first delta, then
 *                         the arguments in pieces
 *   reasoning             DeepSeek-reasoner style `reasoning_content` (and the DeepSeek flavour)
 *   refusal               `message.refusal` text and `content: null`; streamed as `delta.refusal` pieces
 *   extras                what providers add to OpenAI's shape: Azure's `prompt_filter_results`
 *                         (top level) and per-choice `content_filter_results`, keys sorted as Azure
 *                         sorts them; Perplexity's top-level `citations`; unknown fields
 *                         `x_provider_trace` (top level) and `x_choice_trace` (per choice). Streams
 *                         start with Azure's chunk `{"choices":[],"created":0,"id":"","model":"",
 *                         "object":"","prompt_filter_results":[…]}`
 *   flavor=NAME           answer as openai | deepseek | compatible whatever the model name
 *   spaced_json           write streamed chunks with Python's default JSON separators (`, ` and
 *                         `: `), as servers built on Python's json module do, and a JSON answer
 *                         indented by two spaces, line breaks and all, as OpenAI's API does
 * Model `mock-error-400` answers 400 with an `invalid_request_error` naming `messages`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { buildAnswer, lastUserText, type MockRequest } from "./mock-answers.js";
import { parseDirectives, type MockDirectives } from "./mock-directives.js";
import { errorBody, parseJson, readBody, send, sendJson, sendStatusError, type SentBody } from "./mock-http.js";
import { writeSseStream, type StreamControl } from "./mock-sse-writer.js";

export interface MockCall {
  method: string;
  path: string;
  /** Parsed JSON body, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** As received, authorization included, so tests can check what was sent. */
  headers: IncomingHttpHeaders;
  startedAt: number;
  /** The client's port: the same port on two calls means a reused keep-alive connection. */
  remotePort: number | undefined;
  /** What the mock answered, as sent; undefined until it answers (and for `hang`). */
  answer?: MockAnswerSent;
}

/**
 * An answer exactly as it left: a whole body (JSON or error; half of it for `hang_after`/`drop_after`),
 * or the `data:` payloads of a stream in order, without `[DONE]`, filled in as they are written.
 */
export type MockAnswerSent = { type: "json"; status: number; body: string } | { type: "sse"; status: number; events: string[] };

export interface MockUpstreamOptions {
  port?: number;
  host?: string;
  /** Added before every answer's headers, to stand in for a real upstream's latency. */
  latencyMs?: number;
  /** Keep each call in `calls` (default true); a long benchmark turns it off. */
  recordCalls?: boolean;
}

export interface MockUpstream {
  /** Base URL ending in /v1, e.g. http://127.0.0.1:PORT/v1. */
  url: string;
  port: number;
  calls: MockCall[];
  /** Requests whose client closed the socket before the answer ended. */
  readonly aborts: number;
  waitForAbort(count?: number, timeoutMs?: number): Promise<void>;
  waitForCalls(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Makes every completion call fail with this status (a whole channel broken, rate-limited or
   * refusing its key) until called with null; `retryAfterSeconds` adds a Retry-After header.
   */
  failAll(failure: MockFailure | null): void;
  /** Forgets calls, aborts and `times` counters. */
  reset(): void;
  close(): Promise<void>;
}

type Exchange = StreamControl;

/** A whole mock failing: its status, Retry-After and error code. */
export interface MockFailure {
  status: number;
  retryAfterSeconds?: number;
  code?: string;
}

/** One completion call being answered: the caller's token, its exchange, and where the answer is recorded. */
interface Answering {
  token: string;
  exchange: Exchange;
  call: MockCall;
  answered: (sent: SentBody | undefined) => void;
}

export const MOCK_MODELS = ["mock-model", "deepseek-chat", "deepseek-reasoner", "gpt-4o-mini"];
const MOCK_BAD_REQUEST = {
  error: { message: "mock bad request", type: "invalid_request_error", param: "messages", code: "mock_bad_request" },
};

/** Starts the mock upstream on loopback (a free port unless `port` is given). */
export async function startMockUpstream(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const host = options.host ?? "127.0.0.1";
  const recordCalls = options.recordCalls ?? true;
  const calls: MockCall[] = [];
  let failAll: MockFailure | null = null;
  const failures = new Map<string, number>();
  const waiters = new Set<() => void>();
  let callCount = 0;
  let aborts = 0;
  let closing = false;
  const notify = () => waiters.forEach((check) => check());

  /** One request/response: whether it is still open, abort-aware waits, and the abort count on close. */
  function openExchange(res: ServerResponse): Exchange {
    let dropped = false;
    let onClose: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (onClose = resolve));
    res.on("close", () => {
      if (!res.writableEnded && !dropped && !closing) {
        aborts++;
        notify();
      }
      onClose();
    });
    return {
      closed: () => res.destroyed || res.writableEnded,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          void gone.then(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
      hang: () => gone,
      drop() {
        dropped = true;
        // After what was written has left (a bare destroy would discard it), then no more.
        const socket = res.socket;
        socket?.end(() => socket.destroy());
      },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const exchange = openExchange(res);
    const raw = await readBody(req);
    const path = (req.url ?? "/").split("?")[0];
    const body = parseJson(raw);
    const recorded = body.ok ? body.value : raw || undefined;
    const call: MockCall = { method: req.method ?? "GET", path, body: recorded, headers: req.headers, startedAt: Date.now(), remotePort: req.socket.remotePort };
    callCount++;
    if (recordCalls) calls.push(call);
    notify();
    const answered = (sent: SentBody | undefined) => {
      if (sent) call.answer = { type: "json", ...sent };
    };

    const token = /^Bearer\s+(\S+)/i.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return answered(sendJson(res, 401, errorBody("mock: missing bearer token", "invalid_request_error", "invalid_api_key")));
    if (req.method === "GET" && path === "/v1/models") {
      const data = MOCK_MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "mock" }));
      return answered(sendJson(res, 200, { object: "list", data }));
    }
    if (req.method !== "POST" || path !== "/v1/chat/completions") {
      return answered(sendJson(res, 404, errorBody(`mock: no route ${req.method} ${path}`, "invalid_request_error", "not_found")));
    }
    if (!body.ok) return answered(sendJson(res, 400, errorBody("mock: the body is not valid JSON", "invalid_request_error", null)));
    const request = body.value as MockRequest;
    if (typeof request?.model !== "string" || !Array.isArray(request.messages)) {
      return answered(sendJson(res, 400, errorBody("mock: model and messages are required", "invalid_request_error", null)));
    }
    if (request.model === "mock-error-400") return answered(sendJson(res, 400, MOCK_BAD_REQUEST));
    return answerCompletion(res, request, { token, exchange, call, answered });
  }

  async function answerCompletion(res: ServerResponse, request: MockRequest, { token, exchange, call, answered }: Answering) {
    if (failAll) {
      const headers: Record<string, string> = failAll.retryAfterSeconds !== undefined ? { "retry-after": String(failAll.retryAfterSeconds) } : {};
      const type = failAll.status === 429 ? "rate_limit_error" : failAll.status < 500 ? "invalid_request_error" : "server_error";
      return answered(sendJson(res, failAll.status, errorBody(`mock failing every call with ${failAll.status}`, type, failAll.code ?? null), headers));
    }
    const directives = parseDirectives(lastUserText(request.messages));
    const wait = (options.latencyMs ?? 0) + (directives.delay ?? 0);
    if (wait > 0) await exchange.sleep(wait);
    if (exchange.closed()) return;
    if (directives.hang) return exchange.hang();
    if (directives.status !== undefined && shouldFail(directives)) return answered(sendStatusError(res, directives, token));

    const answer = buildAnswer(request, directives);
    if (request.stream !== true) {
      const text = answer.completionText;
      if (directives.hangAfter === undefined && directives.dropAfter === undefined) return answered(send(res, 200, text, { "content-type": "application/json" }));
      const half = text.slice(0, Math.floor(text.length / 2));
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.write(half);
      answered({ status: 200, body: half });
      return directives.hangAfter !== undefined ? exchange.hang() : exchange.drop();
    }
    const includeUsage = (request.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const sent: string[] = [];
    call.answer = { type: "sse", status: 200, events: sent };
    const plan = {
      events: answer.streamEvents(includeUsage),
      seed: answer.seed,
      chunkDelayMs: directives.chunkDelay ?? 0,
      hangAfter: directives.hangAfter,
      keepaliveAfter: directives.keepaliveAfter,
      dropAfter: directives.dropAfter,
      errorAfter: directives.streamErrorAfter,
      errorEvent: JSON.stringify(errorBody("mock stream error", "server_error", "mock_stream_error")),
      sent,
    };
    await writeSseStream(res, plan, exchange);
  }

  /** Counts calls per status directive text; true while this one should still fail. */
  function shouldFail(directives: MockDirectives): boolean {
    if (directives.times === undefined) return true;
    const key = directives.statusKey ?? "";
    const failed = failures.get(key) ?? 0;
    if (failed >= directives.times) return false;
    failures.set(key, failed + 1);
    return true;
  }

  const server = createServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, errorBody("mock: internal error", "server_error", null));
      else res.destroy();
    });
  });
  // Longer than any client's idle keep-alive, so the client always closes first.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  function waitFor(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`mock upstream: timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      waiters.add(check);
    });
  }

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/v1`,
    port,
    calls,
    get aborts() {
      return aborts;
    },
    waitForAbort: (count = 1, timeoutMs = 5_000) =>
      waitFor(() => aborts >= count, timeoutMs, () => `${count} aborts (saw ${aborts})`),
    waitForCalls: (count, timeoutMs = 5_000) =>
      waitFor(() => callCount >= count, timeoutMs, () => `${count} calls (saw ${callCount})`),
    failAll(failure) {
      failAll = failure;
    },
    reset() {
      calls.length = 0;
      callCount = 0;
      aborts = 0;
      failures.clear();
    },
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
