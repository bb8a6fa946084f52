import { errorFromMalformedAnswer, errorFromPayload } from "../upstream-error.js";
import { keepRawJson } from "./raw-json.js";
import { readSseData } from "./read-sse-data.js";

export interface SseJsonOptions {
  provider: string;
  /** Values never to repeat in an error (the provider key). */
  secrets?: readonly string[];
}

/**
 * Parses each SSE payload as JSON. A payload carrying an `error` field (how OpenAI-compatible
 * upstreams report a failure after the 200) becomes a ProviderError; so does unparsable JSON.
 * Each value keeps the text it came as (jsonTextOf), to be forwarded without serialising it again.
 */
export async function* readSseJson<T>(stream: AsyncIterable<Uint8Array>, options: SseJsonOptions): AsyncGenerator<T, void, undefined> {
  for await (const payload of readSseData(stream)) {
    if (payload.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      throw errorFromMalformedAnswer(options.provider, "an event is not valid JSON");
    }
    if (typeof value === "object" && value !== null && "error" in value && (value as { error: unknown }).error != null) {
      throw errorFromPayload(options.provider, value, options.secrets ?? []);
    }
    yield (typeof value === "object" && value !== null ? keepRawJson(value, payload) : value) as T;
  }
}
