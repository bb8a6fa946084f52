import type { IncomingMessage, ServerResponse } from "node:http";
import type { MockDirectives } from "./mock-directives.js";

/** The OpenAI error body. */
export function errorBody(message: string, type: string, code: string | null) {
  return { error: { message, type, param: null, code } };
}

/** A whole body as it left: what a test compares the gateway's answer with. */
export interface SentBody {
  status: number;
  body: string;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): SentBody | undefined {
  return send(res, status, JSON.stringify(value), { ...headers, "content-type": "application/json" });
}

/** Sends the whole body; undefined when the client is already gone. */
export function send(res: ServerResponse, status: number, text: string, headers: Record<string, string>): SentBody | undefined {
  if (res.destroyed) return undefined;
  res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
  return { status, body: text };
}

/** Answers the error a `status=` directive asks for, with its Retry-After headers and body shape. */
export function sendStatusError(res: ServerResponse, directives: MockDirectives, token: string): SentBody | undefined {
  const status = directives.status ?? 500;
  const headers: Record<string, string> = {};
  if (directives.retryAfter !== undefined) headers["retry-after"] = directives.retryAfter;
  if (directives.retryAfterMs !== undefined) headers["retry-after-ms"] = directives.retryAfterMs;
  if (directives.retryAfterDate !== undefined) {
    headers["retry-after"] = new Date(Date.now() + directives.retryAfterDate * 1000).toUTCString();
  }
  const message = `mock status ${status}`;
  switch (directives.errorBody ?? "openai") {
    case "message":
      return sendJson(res, status, { message }, headers);
    case "string":
      return sendJson(res, status, { error: message }, headers);
    case "text":
      return send(res, status, message, { ...headers, "content-type": "text/plain; charset=utf-8" });
    case "empty":
      return send(res, status, "", headers);
    case "echo_key":
      return sendJson(res, status, errorBody(`Incorrect API key provided: ${token}`, "invalid_request_error", "invalid_api_key"), headers);
    default:
      return sendJson(res, status, errorBody(message, errorType(status), `mock_status_${status}`), headers);
  }
}

function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
    // A client gone before the body ended: nothing to answer (its close counts as an abort).
    req.on("close", () => reject(new Error("the client closed the request")));
  });
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
