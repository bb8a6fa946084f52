import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** The token of `Authorization: Bearer TOKEN`, or undefined. */
function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

/**
 * The admin scope's onRequest hook: `Authorization: Bearer ADMIN_TOKEN` or 401 `invalid_admin_token`;
 * no ADMIN_TOKEN configured means 403 `admin_disabled`. It runs before the body is parsed, so an
 * unauthenticated caller learns nothing about the admin schemas from validation errors.
 */
export function adminAuthHook(adminToken: string | undefined) {
  // Both sides are compared as SHA-256 digests: equal lengths whatever was sent, so the comparison's
  // time reveals neither the token's content nor its length.
  const expected = adminToken ? digest(adminToken) : null;
  return async function authenticateAdmin(request: FastifyRequest) {
    if (!expected) throw new GatewayError("admin_disabled");
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) throw new GatewayError("invalid_admin_token");
  };
}
