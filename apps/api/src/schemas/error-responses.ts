/**
 * The error answers routes declare, in OpenAI's error shape, with the headers that come with them.
 * Fastify serializes an error with its route's schema for that status, so the error object lets
 * through fields not listed here (a sync timeout's `job_id`, whatever comes later) rather than
 * drop them. Only error statuses are declared on client routes: a success schema would strip
 * fields of answers that pass through as the provider wrote them.
 */

const stringHeader = (description: string) => ({ type: "string", description }) as const;

export const errorBodySchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "param", "code"],
      additionalProperties: true,
      properties: {
        message: { type: "string" },
        type: { type: "string" },
        param: { type: "string", nullable: true },
        code: { type: "string", nullable: true },
        job_id: { type: "string", description: "The job that continues (504 sync_timeout) or failed" },
      },
    },
  },
} as const;

type Headers = Record<string, { type: "string"; description: string }>;

/** An error answer with a description of when it comes and the headers it carries. */
export const errorResponse = (description: string, headers: Headers = {}) =>
  ({ ...errorBodySchema, description, ...(Object.keys(headers).length > 0 ? { headers } : {}) }) as const;

const retryAfter: Headers = { "retry-after": stringHeader("Seconds to wait before trying again") };

/** The caller's request limits, on every client answer while RATE_LIMIT_ENABLED. */
export const requestLimitHeaders: Headers = {
  "x-ratelimit-limit-requests": stringHeader("Requests allowed in the binding window (minute or hour)"),
  "x-ratelimit-remaining-requests": stringHeader("Requests left in that window"),
  "x-ratelimit-reset-requests": stringHeader("Until a request frees, e.g. 6s or 1m30s"),
};

/** The key's read limit (READ_RATE_LIMIT_PER_MINUTE), on the answers of reading routes. */
export const readLimitHeaders: Headers = {
  "x-ratelimit-limit-reads": stringHeader("Reads allowed per minute (READ_RATE_LIMIT_PER_MINUTE)"),
  "x-ratelimit-remaining-reads": stringHeader("Reads left in the minute"),
  "x-ratelimit-reset-reads": stringHeader("Until a read frees"),
};

/** The key's cap on open event streams or WebSockets. */
export const connectionCapHeaders = (kind: "streams" | "sockets", variable: string): Headers => ({
  [`x-ratelimit-limit-${kind}`]: stringHeader(`Open ${kind === "streams" ? "event streams" : "WebSockets"} allowed per key (${variable})`),
  [`x-ratelimit-remaining-${kind}`]: stringHeader("Slots left once this one is taken (0 on the 429)"),
});

const jobIdHeader: Headers = { "x-job-id": stringHeader("The job behind the answer") };
/** The gateway already retried: the official SDKs must not multiply the calls. */
const noRetry: Headers = { "x-should-retry": stringHeader("Always false: the gateway has already retried") };

/** What every client route can answer before its handler runs: no valid key, Redis or database down. */
export const clientErrors = {
  401: errorResponse("invalid_api_key: a missing, wrong, expired or revoked API key"),
  503: errorResponse("service_unavailable: the gateway's Redis or database is unreachable"),
} as const;

/** Routes that take a body: refused before routing when it does not arrive in time. */
export const bodyErrors = {
  400: errorResponse("invalid_json or invalid_request: the body, a parameter or a header is not valid (`param` names it)"),
  408: errorResponse("request_timeout: the headers (HEADERS_TIMEOUT_MS) or the whole request (REQUEST_TIMEOUT_MS) came too slowly; the connection closes"),
  413: errorResponse("payload_too_large: the body exceeds MAX_BODY_BYTES"),
  415: errorResponse("unsupported_media_type: send application/json"),
} as const;

/** A route that creates work: refused when the key's minute or hour window is full, or a token budget is used up. */
export const requestLimitError = errorResponse(
  "rate_limit_exceeded: the key's request limit (minute or hour window) is reached; insufficient_quota: a token budget of the key or its user is used up until its period ends",
  { ...requestLimitHeaders, ...retryAfter, "x-should-retry": stringHeader("false with insufficient_quota: waiting a little does not help") },
);

/** A reading route: refused when the key's read limit is reached. */
export const readLimitError = errorResponse("rate_limit_exceeded: the key's read limit (READ_RATE_LIMIT_PER_MINUTE) is reached", {
  ...requestLimitHeaders,
  ...readLimitHeaders,
  ...retryAfter,
});

/** An event stream: refused by the read limit or by MAX_EVENT_STREAMS_PER_KEY. */
export const eventStreamLimitError = errorResponse(
  "rate_limit_exceeded (the read limit) or too_many_connections (MAX_EVENT_STREAMS_PER_KEY streams already open for the key)",
  { ...requestLimitHeaders, ...readLimitHeaders, ...connectionCapHeaders("streams", "MAX_EVENT_STREAMS_PER_KEY"), ...retryAfter },
);

/** A WebSocket upgrade with a header key: refused when the key holds MAX_WEBSOCKETS_PER_KEY sockets. */
export const socketCapError = errorResponse("too_many_connections: the key already holds MAX_WEBSOCKETS_PER_KEY WebSockets", {
  ...connectionCapHeaders("sockets", "MAX_WEBSOCKETS_PER_KEY"),
  ...retryAfter,
});

/** An admin route: refused for an address with too many failed logins, before its token is looked at. */
export const adminFailuresError = errorResponse("too_many_admin_failures: too many failed admin logins from this address", retryAfter);

/** The answers of a synchronous completion that failed or did not finish in time. */
export const completionFailureErrors = {
  502: errorResponse("upstream_error or provider_auth_error: the provider failed after the gateway's retries", { ...noRetry, ...jobIdHeader }),
  504: errorResponse("sync_timeout: no answer within SYNC_TIMEOUT_MS; the job continues: poll GET /v1/jobs/{error.job_id}", {
    ...noRetry,
    ...jobIdHeader,
  }),
} as const;
