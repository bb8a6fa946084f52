import { ProviderError, isRetryableStatus, type UpstreamErrorDetail } from "./provider-error.js";

/** Longest upstream text kept in an error: enough to read, too short to carry a whole page. */
const MAX_MESSAGE_CHARS = 1000;

/** Reads a header by lower-case name, whatever shape the HTTP client gives headers in. */
export type HeaderLookup = (name: string) => string | undefined;

/**
 * The upstream's error, parsed leniently: the OpenAI shape `{error:{message,type,param,code}}`,
 * `{error:"text"}`, `{message,...}`, a one-element array of those, or plain text.
 */
export function parseUpstreamErrorBody(body: string): Partial<UpstreamErrorDetail> {
  const text = body.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text === "" ? {} : { message: truncate(text) };
  }
  return parseUpstreamErrorValue(parsed) ?? { message: truncate(text) };
}

/** The same lenient reading for an already-parsed value (a JSON body, an SSE payload, an SDK's `error`). */
export function parseUpstreamErrorValue(value: unknown): Partial<UpstreamErrorDetail> | undefined {
  if (Array.isArray(value)) return value.length > 0 ? parseUpstreamErrorValue(value[0]) : undefined;
  if (typeof value === "string") return value.trim() === "" ? undefined : { message: truncate(value.trim()) };
  if (!isRecord(value)) return undefined;
  if ("error" in value && value.error !== null && value.error !== undefined) {
    const inner = parseUpstreamErrorValue(value.error);
    if (inner) return inner;
  }
  const message = typeof value.message === "string" ? value.message : typeof value.detail === "string" ? value.detail : undefined;
  if (message === undefined) return undefined;
  return {
    message: truncate(message),
    type: asText(value.type),
    param: asText(value.param),
    code: asText(value.code),
  };
}

/**
 * The delay an upstream asked for: `retry-after-ms` (OpenAI) first, then `Retry-After` in
 * seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(header: HeaderLookup, now = Date.now()): number | undefined {
  const milliseconds = header("retry-after-ms");
  if (milliseconds !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(milliseconds)) return Math.round(Number(milliseconds));
  const value = header("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface ResponseErrorInput {
  provider: string;
  status: number;
  header: HeaderLookup;
  detail: Partial<UpstreamErrorDetail>;
  /** Values never to repeat in the error (the provider key): an upstream may echo them. */
  secrets: readonly string[];
}

/** A ProviderError for an upstream HTTP error answer; the retry decision comes from the status. */
export function errorFromResponse(input: ResponseErrorInput): ProviderError {
  const detail = redactDetail(input.detail, input.secrets);
  const message = detail.message ?? `HTTP ${input.status}`;
  return new ProviderError(`${input.provider} answered ${input.status}: ${message}`, {
    provider: input.provider,
    status: input.status,
    retryable: isRetryableStatus(input.status),
    retryAfterMs: parseRetryAfterMs(input.header),
    detail: { ...detail, message },
  });
}

/** A ProviderError for an error the upstream sent inside a 200 answer (mid-stream or in the JSON). */
export function errorFromPayload(provider: string, value: unknown, secrets: readonly string[]): ProviderError {
  const detail = redactDetail(parseUpstreamErrorValue(value) ?? {}, secrets);
  const message = detail.message ?? "the upstream sent an error";
  // Some upstreams put an HTTP-like status in `code`; without one, a mid-answer failure is the server's.
  const status = Number(detail.code);
  const retryable = Number.isInteger(status) && status >= 400 && status < 600 ? isRetryableStatus(status) : true;
  return new ProviderError(`${provider} sent an error: ${message}`, {
    provider,
    retryable,
    detail: { ...detail, message },
  });
}

/** A ProviderError for a failed connection, reset or broken answer: always worth another try. */
export function errorFromConnection(provider: string, cause: unknown, secrets: readonly string[]): ProviderError {
  const code = isRecord(cause) && typeof cause.code === "string" ? cause.code : undefined;
  const text = redact(cause instanceof Error ? cause.message : String(cause), secrets);
  const message = code ? `${text} (${code})` : text;
  return new ProviderError(`${provider} connection failed: ${message}`, {
    provider,
    retryable: true,
    detail: { message: `connection to the provider failed: ${message}`, type: "connection_error", code: code ?? null },
    cause,
  });
}

/** A ProviderError for a 2xx answer that is not what the protocol promises (bad JSON, no choices). */
export function errorFromMalformedAnswer(provider: string, what: string): ProviderError {
  return new ProviderError(`${provider} sent a malformed answer: ${what}`, {
    provider,
    retryable: true,
    detail: { message: `the provider sent a malformed answer: ${what}`, type: "upstream_error" },
  });
}

/** Replaces every occurrence of each secret with `[REDACTED]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let safe = text;
  for (const secret of secrets) if (secret.length >= 4) safe = safe.split(secret).join("[REDACTED]");
  return safe;
}

function redactDetail(detail: Partial<UpstreamErrorDetail>, secrets: readonly string[]): Partial<UpstreamErrorDetail> {
  const safe: Partial<UpstreamErrorDetail> = {};
  for (const key of ["message", "type", "param", "code"] as const) {
    const value = detail[key];
    if (typeof value === "string") safe[key] = redact(value, secrets);
  }
  return safe;
}

function asText(value: unknown): string | null {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
