import type { IncomingMessage } from "node:http";
import { randomToken } from "@llmgw/jobs";

const acceptedRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's sane `x-request-id` (for tracing across services), else makes one. */
export function requestIdFor(request: IncomingMessage): string {
  const incoming = request.headers["x-request-id"];
  if (typeof incoming === "string" && acceptedRequestId.test(incoming)) return incoming;
  return `req_${randomToken(12)}`;
}
