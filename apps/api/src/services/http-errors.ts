import type { FastifyError } from "fastify";
import { GatewayError } from "@llmgw/errors";

/** Redis client errors that mean "Redis is not there right now": an outage, answered 503. */
function isRedisOutage(error: Error): boolean {
  return (
    /enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|MaxRetriesPerRequest|Stream isn't writeable|Redis not ready/i.test(
      error.message,
    ) || error.name === "MaxRetriesPerRequestError"
  );
}

/**
 * Database errors that mean "the database cannot serve now": SQLite locked past the busy timeout, I/O, disk
 * full; PostgreSQL connection loss, too many connections, shutdown, a deadlock or serialization failure
 * (the store already answers 503 for a server it cannot reach): 503.
 */
function isDatabaseOutage(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY)|^(08[0-9A-Z]{3}|53[0-9A-Z]{3}|57P0[1-3]|40001|40P01)$/.test(code);
}

/** A JSON-pointer-ish ajv path (`/messages/0/role`) as OpenAI's `param` (`messages[0].role`). */
function toParam(instancePath: string, missing?: string): string | null {
  // JSON-pointer escapes: a metadata key "a/b" is the path segment "a~1b".
  const parts = instancePath
    .split("/")
    .filter(Boolean)
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (missing) parts.push(missing);
  if (parts.length === 0) return null;
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

/** Translates anything thrown into the OpenAI error shape with the right status. */
export function toHttpError(error: FastifyError | Error): GatewayError {
  if (error instanceof GatewayError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation && fastifyError.validation.length > 0) {
    const first = fastifyError.validation[0];
    const { missingProperty: missing, additionalProperty: unknown } = first.params as {
      missingProperty?: string;
      additionalProperty?: string;
    };
    if (unknown !== undefined) {
      // OpenAI's wording for a field it does not know.
      const param = toParam(first.instancePath, unknown);
      return new GatewayError("invalid_request", { message: `Unrecognized request argument supplied: ${param}.`, param });
    }
    const param = toParam(first.instancePath, missing);
    const where = param ?? "body";
    // ajv sets `propertyName` on a propertyNames error; Fastify's type of it leaves the field out.
    if ((first as { propertyName?: string }).propertyName !== undefined) {
      // A key (propertyNames) broke the rule, not a value: say so, without echoing a key that may be huge.
      return new GatewayError("invalid_request", { message: `Invalid key in '${where}': ${first.message}.`, param });
    }
    const message = missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${where}': ${first.message}.`;
    return new GatewayError("invalid_request", { message, param });
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GatewayError("payload_too_large");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GatewayError("unsupported_media_type");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new GatewayError("invalid_json", { message: "The request body is empty; send a JSON object." });
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new GatewayError("invalid_request", { message: "The Content-Length header does not match the body." });
  }
  if (fastifyError.statusCode === 400 && (error instanceof SyntaxError || /JSON|prototype|constructor/i.test(error.message))) {
    const message = /prototype|constructor/i.test(error.message)
      ? "The request body contains a forbidden property name (__proto__ or constructor)."
      : "The request body is not valid JSON.";
    return new GatewayError("invalid_json", { message });
  }
  if (isRedisOutage(error) || isDatabaseOutage(error)) return new GatewayError("service_unavailable", { cause: error });
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new GatewayError("invalid_request", { status: fastifyError.statusCode, message: error.message });
  }
  return new GatewayError("internal_error", { cause: error });
}
