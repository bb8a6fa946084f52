import type { ChatCompletionChunk, ChatCompletionRequest } from "./types.js";

/** The request as streamed upstream: `stream: true`, and usage asked for in the last chunk (the gateway counts tokens). */
export function withUsageAsked(request: ChatCompletionRequest): ChatCompletionRequest {
  const streamOptions = isRecord(request.stream_options) ? request.stream_options : {};
  return { ...request, stream: true, stream_options: { ...streamOptions, include_usage: true } };
}

/** Did the client itself ask for the usage chunk? Only then does it reach the client. */
export function clientAskedUsage(request: ChatCompletionRequest): boolean {
  return isRecord(request.stream_options) && request.stream_options.include_usage === true;
}

/** The chunk the gateway may have asked for on its own: usage and no choices (an Azure filter chunk has no usage). */
export function isUsageOnlyChunk(chunk: ChatCompletionChunk): boolean {
  return chunk.usage != null && Array.isArray(chunk.choices) && chunk.choices.length === 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
