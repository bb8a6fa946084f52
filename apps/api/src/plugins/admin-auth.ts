import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import type { LoginThrottle } from "../services/login-throttle.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** The token of `Authorization: Bearer TOKEN`, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

/**
 * Compares a presented secret with the expected one as SHA-256 digests: equal lengths whatever was
 * sent, so the comparison's time reveals neither the secret's content nor its length.
 */
export function secretMatcher(expected: string): (presented: string | undefined) => boolean {
  const expectedDigest = digest(expected);
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), expectedDigest);
}

export interface AdminGuard {
  /** Throws the refusal (403 admin disabled, 429 throttled, 401 wrong token) or returns when the caller is the admin. */
  check(request: FastifyRequest, presented: string | undefined): void;
}

/**
 * The admin token check shared by the admin API and the queue dashboard. An address that failed
 * too often is refused with 429 before its token is even looked at, so a guess made while refused
 * teaches nothing; every wrong token counts as a failure of the caller's address (`request.ip`,
 * which honours TRUST_PROXY).
 */
export function createAdminGuard(adminToken: string | undefined, throttle: LoginThrottle): AdminGuard {
  const matches = adminToken ? secretMatcher(adminToken) : null;
  return {
    check(request, presented) {
      if (!matches) throw new GatewayError("admin_disabled");
      const wait = throttle.retryAfterSeconds(request.ip);
      if (wait > 0) {
        throw new GatewayError("too_many_admin_failures", {
          message: `Too many failed admin logins from this address; try again in ${wait} s.`,
          headers: { "retry-after": String(wait) },
        });
      }
      if (matches(presented)) return;
      throttle.recordFailure(request.ip);
      throw new GatewayError("invalid_admin_token");
    },
  };
}

/**
 * The admin scope's onRequest hook: `Authorization: Bearer ADMIN_TOKEN`, or a console session
 * cookie (`sessions`), or 401 `invalid_admin_token`; no ADMIN_TOKEN configured means 403
 * `admin_disabled`; too many failures from one address, 429. It runs before the body is read, so
 * an unauthenticated caller learns nothing about the admin schemas from validation errors, and
 * its body, if still on the way, is not read: the connection closes.
 */
export function adminAuthHook(guard: AdminGuard, sessions?: ConsoleSessionCheck) {
  return async function authenticateAdmin(request: FastifyRequest, reply: FastifyReply) {
    try {
      const presented = bearerToken(request.headers.authorization);
      if (presented === undefined && sessions && (await sessions.admits(request))) return;
      guard.check(request, presented);
    } catch (error) {
      if (!request.raw.complete) reply.header("connection", "close");
      throw error;
    }
  };
}

/** The console's side of admin authentication (plugins/console-session.ts). */
export interface ConsoleSessionCheck {
  /** True for a request carrying a live console session (that passes the CSRF check when it changes something). */
  admits(request: FastifyRequest): Promise<boolean>;
}
