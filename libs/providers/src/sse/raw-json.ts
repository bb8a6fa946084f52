const RAW_JSON = Symbol("llmgw.rawJson");

/**
 * Keeps the JSON text an event's value was parsed from on the value itself (a hidden property
 * that JSON.stringify and equality checks ignore), so that it can be logged and forwarded as it
 * came, without serialising it again. Text with a line break is not kept: an SSE `data:` line
 * cannot hold it.
 */
export function keepRawJson<T extends object>(value: T, text: string): T {
  if (!text.includes("\n") && !text.includes("\r")) Object.defineProperty(value, RAW_JSON, { value: text.trim() });
  return value;
}

/** keepRawJson for a whole JSON answer (a body, never an SSE event): kept as it is, indentation and line breaks included. */
export function keepAnswerJson<T extends object>(value: T, text: string): T {
  return Object.defineProperty(value, RAW_JSON, { value: text });
}

/** The JSON text the value was parsed from, when it was kept; else its serialisation. */
export function jsonTextOf(value: unknown): string {
  const raw = typeof value === "object" && value !== null ? (value as { [RAW_JSON]?: string })[RAW_JSON] : undefined;
  return raw ?? JSON.stringify(value);
}
