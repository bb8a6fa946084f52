import OpenAI, { APIConnectionError, APIError } from "openai";
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import { ProviderError } from "../provider-error.js";
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ProviderAdapter, ProviderCallOptions } from "../types.js";
import {
  errorFromConnection,
  errorFromMalformedAnswer,
  errorFromPayload,
  errorFromResponse,
  parseUpstreamErrorBody,
  parseUpstreamErrorValue,
} from "../upstream-error.js";
import { withUsageAsked } from "../stream-usage.js";

export interface OpenAIOptions {
  apiKey: string;
  /** OPENAI_BASE_URL, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Defaults to `openai`. */
  name?: string;
}

/**
 * OpenAI through the official SDK. `maxRetries: 0` because the queue owns retries; SDK errors
 * become ProviderErrors with the same reading of status, Retry-After and error body as the
 * OpenAI-compatible adapter.
 */
export function createOpenAIAdapter(options: OpenAIOptions): ProviderAdapter {
  const name = options.name ?? "openai";
  const secrets = [options.apiKey];
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseUrl,
    maxRetries: 0,
    logLevel: "off",
    fetch: normalizeErrorBodies,
  });

  /** Any failure as the adapter's one error type; an abort rethrows the caller's own reason. */
  function translate(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (error instanceof ProviderError) return error;
    if (error instanceof APIError && !(error instanceof APIConnectionError)) {
      if (error.status !== undefined) {
        return errorFromResponse({
          provider: name,
          status: error.status,
          header: (key) => error.headers?.get(key) ?? undefined,
          detail: parseUpstreamErrorValue(error.error) ?? {},
          secrets,
        });
      }
      // No status: the SDK found an `error` payload in the middle of a stream.
      return errorFromPayload(name, { error: error.error ?? error.message }, secrets);
    }
    if (error instanceof SyntaxError) return errorFromMalformedAnswer(name, "an answer is not valid JSON");
    const cause = error instanceof APIConnectionError && error.cause ? error.cause : error;
    return errorFromConnection(name, cause, secrets);
  }

  async function createChatCompletion(request: ChatCompletionRequest, { signal, onResponse }: ProviderCallOptions): Promise<ChatCompletion> {
    const { stream: _stream, stream_options: _streamOptions, ...rest } = request;
    signal.throwIfAborted();
    let text: string;
    try {
      // The raw response: its headers are the first byte, and its body the answer as the provider wrote it.
      const response = await client.chat.completions.create(rest as unknown as ChatCompletionCreateParamsNonStreaming, { signal }).asResponse();
      onResponse?.();
      text = await response.text();
    } catch (error) {
      throw translate(error, signal);
    }
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw errorFromMalformedAnswer(name, "the body is not valid JSON");
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) throw errorFromMalformedAnswer(name, "the body is not a JSON object");
    if (record.error != null) throw errorFromPayload(name, record, secrets);
    if (!Array.isArray(record.choices)) throw errorFromMalformedAnswer(name, "the answer has no choices");
    return record as unknown as ChatCompletion;
  }

  async function* streamChatCompletion(
    request: ChatCompletionRequest,
    { signal }: ProviderCallOptions,
  ): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    const params = withUsageAsked(request);
    signal.throwIfAborted();
    let finished = false;
    try {
      const stream = await client.chat.completions.create(params as unknown as ChatCompletionCreateParamsStreaming, { signal });
      for await (const chunk of stream) {
        if (chunk.choices?.some((choice) => choice.finish_reason != null)) finished = true;
        yield chunk;
      }
    } catch (error) {
      throw translate(error, signal);
    }
    // The SDK ends a stream quietly when its signal aborts: the caller must still hear why.
    if (signal.aborted) throw signal.reason;
    if (!finished) throw errorFromMalformedAnswer(name, "the stream ended before a finish_reason");
  }

  async function listModels({ signal }: ProviderCallOptions): Promise<string[]> {
    signal.throwIfAborted();
    try {
      const ids: string[] = [];
      for await (const model of client.models.list({ signal })) ids.push(model.id);
      return ids;
    } catch (error) {
      throw translate(error, signal);
    }
  }

  return { name, supportsStreaming: true, createChatCompletion, streamChatCompletion, listModels };
}

/**
 * The SDK keeps only the `error` field of a JSON error body (and nothing of `{message}`
 * bodies); rewriting every error body into the OpenAI shape first keeps the lenient reading.
 */
async function normalizeErrorBodies(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.ok) return response;
  const detail = parseUpstreamErrorBody(await response.text());
  return new Response(JSON.stringify({ error: detail }), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}
