import { errorFromMalformedAnswer, errorFromPayload } from "../upstream-error.js";
import { keepRawJson } from "./raw-json.js";

export interface SseJsonOptions {
  provider: string;
  /** Values never to repeat in an error (the provider key). */
  secrets?: readonly string[];
}

/**
 * One SSE payload as JSON; undefined for an empty one. A payload carrying an `error` field (how
 * OpenAI-compatible upstreams report a failure after the 200) becomes a ProviderError; so does
 * unparsable JSON. The value keeps the text it came as (jsonTextOf), to be forwarded as it is.
 */
export function parseSseJson<T>(payload: string, options: SseJsonOptions): T | undefined {
  if (payload.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    throw errorFromMalformedAnswer(options.provider, "an event is not valid JSON");
  }
  if (typeof value !== "object" || value === null) return value as T;
  if ("error" in value && (value as { error: unknown }).error != null) throw errorFromPayload(options.provider, value, options.secrets ?? []);
  return keepRawJson(value, payload) as T;
}
