/**
 * Every error the gateway answers with, by code. The code is what clients match on, so
 * codes are part of the contract: add new ones, do not rename.
 */
export const errorCatalogue = {
  invalid_json: { status: 400, type: "invalid_request_error", message: "The request body is not valid JSON." },
  invalid_request: { status: 400, type: "invalid_request_error", message: "The request is not valid." },
  invalid_api_key: {
    status: 401,
    type: "authentication_error",
    message: "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'.",
  },
  invalid_admin_token: {
    status: 401,
    type: "authentication_error",
    message: "Incorrect or missing admin token. Send it as 'Authorization: Bearer ADMIN_TOKEN'.",
  },
  invalid_metrics_token: {
    status: 401,
    type: "authentication_error",
    message: "Incorrect or missing metrics token. Send it as 'Authorization: Bearer METRICS_TOKEN'.",
  },
  admin_disabled: {
    status: 403,
    type: "permission_error",
    message: "The admin API is disabled: set ADMIN_TOKEN in the API's environment to enable it.",
  },
  console_csrf_refused: {
    status: 403,
    type: "permission_error",
    message: "A console request that changes something must come from the console itself (same origin, with its x-console-csrf header).",
  },
  model_not_allowed: { status: 403, type: "permission_error", message: "This API key may not use this model." },
  ip_not_allowed: { status: 403, type: "permission_error", message: "This API key may not be used from this address (see its allowed_ips)." },
  model_not_found: { status: 404, type: "invalid_request_error", message: "The model does not exist or no configured provider serves it." },
  job_not_found: { status: 404, type: "invalid_request_error", message: "No job with this id." },
  not_found: { status: 404, type: "invalid_request_error", message: "Not found." },
  route_not_found: { status: 404, type: "invalid_request_error", message: "Unknown route." },
  request_timeout: {
    status: 408,
    type: "invalid_request_error",
    message: "The request was not received in time (HEADERS_TIMEOUT_MS for its headers, REQUEST_TIMEOUT_MS for all of it).",
  },
  job_already_ended: { status: 409, type: "invalid_request_error", message: "The job has already ended." },
  already_exists: { status: 409, type: "invalid_request_error", message: "It already exists." },
  job_cancelled: { status: 409, type: "invalid_request_error", message: "The job was cancelled." },
  payload_too_large: { status: 413, type: "invalid_request_error", message: "The request body is too large." },
  unsupported_media_type: {
    status: 415,
    type: "invalid_request_error",
    message: "Unsupported content type: send application/json.",
  },
  idempotency_key_reused: {
    status: 422,
    type: "invalid_request_error",
    message: "This Idempotency-Key was already used with a different request body.",
  },
  rate_limit_exceeded: { status: 429, type: "rate_limit_error", message: "Rate limit reached for this API key." },
  // OpenAI's own shape for a used-up quota (type and code alike); the SDKs do not retry it.
  insufficient_quota: { status: 429, type: "insufficient_quota", message: "This API key or its user has used up a token budget." },
  too_many_connections: {
    status: 429,
    type: "rate_limit_error",
    message: "Too many open connections for this API key; close one, then try again.",
  },
  too_many_admin_failures: {
    status: 429,
    type: "rate_limit_error",
    message: "Too many failed admin logins from this address.",
  },
  headers_too_large: { status: 431, type: "invalid_request_error", message: "The request's headers are too large." },
  internal_error: { status: 500, type: "server_error", message: "The gateway failed to handle the request." },
  upstream_error: { status: 502, type: "upstream_error", message: "The provider failed after retries." },
  // A provider's 401/403 to the gateway's own key: not the client's fault, so never the client's 401/403.
  provider_auth_error: {
    status: 502,
    type: "upstream_error",
    message: "The provider refused the gateway's credentials; the gateway's operator has to fix its provider key.",
  },
  service_unavailable: {
    status: 503,
    type: "server_error",
    message: "The gateway's Redis or database is unreachable; try again shortly.",
  },
  console_not_built: {
    status: 503,
    type: "server_error",
    message: "The web console is not built on this host: run `npm run build` (it builds apps/console), then restart the API.",
  },
  sync_timeout: {
    status: 504,
    type: "timeout_error",
    message: "The completion did not finish in time; it continues as a job: poll GET /v1/jobs/{job_id}.",
  },
} as const satisfies Record<string, { status: number; type: string; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;
