import type { Dispatcher } from "undici";
import { ProviderError } from "../provider-error.js";
import { keepAnswerJson } from "../sse/raw-json.js";
import { parseSseJson } from "../sse/read-sse-json.js";
import { readSsePayloads } from "../sse/read-sse-data.js";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ProviderAdapter, ProviderCallOptions } from "../types.js";
import {
  errorFromConnection,
  errorFromMalformedAnswer,
  errorFromPayload,
  errorFromResponse,
  parseUpstreamErrorBody,
  type HeaderLookup,
} from "../upstream-error.js";
import { leasePool } from "./pool-cache.js";
import { withUsageAsked } from "../stream-usage.js";

export interface OpenAICompatibleOptions {
  /** Provider name: in errors, logs and `PROVIDER/MODEL` routing. */
  name: string;
  /** The prefix before `/chat/completions`, as in the OpenAI SDK (may carry a path such as `/v1`). */
  baseUrl: string;
  apiKey: string;
  defaultHeaders?: Record<string, string>;
}

/** Bytes of a finished stream's tail we read to keep its socket reusable, and for how long. */
const DRAIN_LIMIT_BYTES = 64 * 1024;
const DRAIN_TIMEOUT_MS = 5_000;

/** An adapter for any upstream that speaks OpenAI Chat Completions over HTTP, on a shared undici pool. */
export function createOpenAICompatibleAdapter(options: OpenAICompatibleOptions): ProviderAdapter {
  const { name } = options;
  const base = new URL(options.baseUrl);
  const pathPrefix = base.pathname.replace(/\/+$/, "");
  const lease = leasePool(base.origin);
  const secrets = [options.apiKey];
  const headers: Record<string, string> = {
    "user-agent": "llm-gateway",
    ...lowerCaseKeys(options.defaultHeaders ?? {}),
    "content-type": "application/json",
    authorization: `Bearer ${options.apiKey}`,
  };

  /** Any failure as the adapter's one error type; an abort rethrows the caller's own reason. */
  function translate(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    return errorFromConnection(name, error, secrets);
  }

  /** Sends one request; answers other than 2xx become ProviderErrors with the upstream's detail. */
  async function send(method: "GET" | "POST", path: string, body: string | undefined, accept: string, signal: AbortSignal) {
    signal.throwIfAborted();
    let response: Dispatcher.ResponseData;
    try {
      response = await lease.pool.request({
        path: `${pathPrefix}${path}${base.search}`,
        method,
        headers: { ...headers, accept },
        body,
        signal,
      });
    } catch (error) {
      throw translate(error, signal);
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response;
    const text = await response.body.text().catch(() => "");
    if (signal.aborted) throw signal.reason;
    throw errorFromResponse({
      provider: name,
      status: response.statusCode,
      header: headerLookup(response.headers),
      detail: parseUpstreamErrorBody(text),
      secrets,
    });
  }

  /** Reads a whole JSON answer; an `error` field in a 2xx is still an error. */
  async function readJson(response: Dispatcher.ResponseData, signal: AbortSignal): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw translate(error, signal);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw errorFromMalformedAnswer(name, "the body is not valid JSON");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw errorFromMalformedAnswer(name, "the body is not a JSON object");
    }
    const record = value as Record<string, unknown>;
    if (record.error != null) throw errorFromPayload(name, record, secrets);
    // The answer travels on (job log, cache, client) as the provider wrote it.
    return keepAnswerJson(record, text);
  }

  async function createChatCompletion(request: ChatCompletionRequest, { signal, onResponse }: ProviderCallOptions): Promise<ChatCompletion> {
    // stream_options without stream is an error upstream; a JSON call sends neither.
    const { stream: _stream, stream_options: _streamOptions, ...rest } = request;
    const response = await send("POST", "/chat/completions", JSON.stringify(rest), "application/json", signal);
    onResponse?.();
    const body = await readJson(response, signal);
    if (!Array.isArray(body.choices)) throw errorFromMalformedAnswer(name, "the answer has no choices");
    return body as unknown as ChatCompletion;
  }

  async function* streamChatCompletion(
    request: ChatCompletionRequest,
    { signal }: ProviderCallOptions,
  ): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const response = await send("POST", "/chat/completions", JSON.stringify(withUsageAsked(request)), "text/event-stream", signal);
    const contentType = headerLookup(response.headers)("content-type") ?? "";
    if (!contentType.includes("text/event-stream")) {
      // Some upstreams answer a failed stream request with a JSON error and a 200.
      await readJson(response, signal);
      throw errorFromMalformedAnswer(name, `expected an event stream, got ${contentType || "no content type"}`);
    }

    let finished = false;
    let drained = false;
    try {
      // Stopping at [DONE] must not destroy the body (that builds an AbortError, stack and all, per
      // call): the finally below reads the tail so that the socket serves the next call.
      const body = response.body.iterator({ destroyOnReturn: false });
      const jsonOptions = { provider: name, secrets };
      // The loop ends at [DONE], whether or not the upstream closes its response.
      for await (const payloads of readSsePayloads(body)) {
        for (const payload of payloads) {
          const chunk = parseSseJson<ChatCompletionChunk>(payload, jsonOptions);
          if (chunk === undefined) continue;
          if (chunk.choices?.some((choice) => choice.finish_reason != null)) finished = true;
          yield chunk;
        }
      }
      drained = true;
    } catch (error) {
      throw translate(error, signal);
    } finally {
      if (drained) {
        // The tail after [DONE] is a few bytes; reading it lets the socket serve the next call.
        // A plain timer: AbortSignal.timeout costs a weakly held signal per call.
        const giveUp = setTimeout(() => response.body.on("error", () => undefined).destroy(), DRAIN_TIMEOUT_MS).unref();
        response.body
          .dump({ limit: DRAIN_LIMIT_BYTES })
          .catch(() => undefined)
          .finally(() => clearTimeout(giveUp));
      } else {
        // Stopped early (caller broke off, abort, error): destroying the body closes the socket.
        // undici reports that destroy as an error event, which nobody listens for any more.
        response.body.on("error", () => undefined).destroy();
      }
    }
    if (signal.aborted) throw signal.reason;
    if (!finished) throw errorFromMalformedAnswer(name, "the stream ended before a finish_reason");
  }

  async function listModels({ signal }: ProviderCallOptions): Promise<string[]> {
    const response = await send("GET", "/models", undefined, "application/json", signal);
    const body = await readJson(response, signal);
    if (!Array.isArray(body.data)) throw errorFromMalformedAnswer(name, "the model list has no data");
    return body.data.flatMap((model: unknown) => (typeof model === "object" && model !== null && typeof (model as { id?: unknown }).id === "string" ? [(model as { id: string }).id] : []));
  }

  return {
    name,
    supportsStreaming: true,
    createChatCompletion,
    streamChatCompletion,
    listModels,
    close: () => lease.release(),
  };
}

function headerLookup(headers: Record<string, string | string[] | undefined>): HeaderLookup {
  return (key) => {
    const value = headers[key];
    return Array.isArray(value) ? value[0] : value;
  };
}

function lowerCaseKeys(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key.toLowerCase(), value]));
}

