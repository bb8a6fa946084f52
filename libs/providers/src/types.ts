import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";

export type { ChatCompletion, ChatCompletionChunk };

/**
 * A chat completion request as the client sent it. Typed loosely on purpose: every OpenAI
 * parameter (and a provider's own extras) passes through to the upstream untouched.
 */
export interface ChatCompletionRequest {
  model: string;
  messages: unknown[];
  stream?: boolean | null;
  [parameter: string]: unknown;
}

export interface ProviderCallOptions {
  /** Aborts the upstream call, closing its socket. */
  signal: AbortSignal;
  /**
   * createChatCompletion calls it once the upstream's response headers arrive: the first byte of
   * a JSON call (a stream's first byte is its first chunk).
   */
  onResponse?: () => void;
}

/** What every provider adapter does; `model` in the request is already the upstream model name. */
export interface ProviderAdapter {
  readonly name: string;
  /** Can the upstream stream? Workers stream whenever it can, to see progress and time out on idleness. */
  readonly supportsStreaming: boolean;
  /** The upstream's JSON answer as it came (every field, in its order); `stream` and `stream_options` are not sent. */
  createChatCompletion(request: ChatCompletionRequest, options: ProviderCallOptions): Promise<ChatCompletion>;
  /**
   * Yields the upstream's chunks in order, as they came; asks for usage in the last one
   * (`stream_options.include_usage`) whatever the caller asked, for the gateway's accounting.
   */
  streamChatCompletion(request: ChatCompletionRequest, options: ProviderCallOptions): AsyncIterable<ChatCompletionChunk>;
  listModels?(options: ProviderCallOptions): Promise<string[]>;
  close?(): Promise<void>;
}
