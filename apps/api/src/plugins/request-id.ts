import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

const acceptedRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's sane `x-request-id` (for tracing across services), else makes one. */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers["x-request-id"];
  if (typeof incoming === "string" && acceptedRequestId.test(incoming)) return incoming;
  return `req_${randomBytes(12).toString("base64url")}`;
}
