import type { FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { CONSOLE_SESSION_COOKIE, CONSOLE_SESSION_SECONDS, readCookie, type ConsoleSessions } from "../services/console-sessions.js";
import type { ConsoleSessionCheck } from "./admin-auth.js";

/** The header the console sends with every request that changes something. */
export const CONSOLE_CSRF_HEADER = "x-console-csrf";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The CSRF defence for cookie-authenticated requests, on top of `SameSite=Strict` (which already
 * keeps the cookie off requests started by other sites): the request must carry the
 * `x-console-csrf` header, which a form or a plain link cannot set and a cross-origin script can
 * set only after a CORS preflight this API never grants; and when the browser names an `Origin`,
 * it must be this host. Throws 403 `console_csrf_refused` otherwise.
 */
export function checkConsoleCsrf(request: FastifyRequest): void {
  const origin = request.headers.origin;
  // Through URL on both sides, so a default port written out (":80") still matches.
  const sameOrigin = origin === undefined || hostOf(origin) === hostOf(`${request.protocol}://${request.host}`);
  if (request.headers[CONSOLE_CSRF_HEADER] !== "1" || !sameOrigin) throw new GatewayError("console_csrf_refused");
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/** The session id in the request's cookie, or undefined. */
export const sessionIdOf = (request: FastifyRequest) => readCookie(request.headers.cookie, CONSOLE_SESSION_COOKIE);

/**
 * Admin authentication by console session: a request without the cookie is not the console's
 * (false: the bearer check decides); with a live session it is admitted, after the CSRF check
 * when it changes something; with an ended one it answers 401. An ended session is not a failed
 * login (its id was never guessed: ids are 256 random bits), so it does not count towards the
 * login throttle, and a tab left open after sign-out cannot lock its address out.
 */
export function createConsoleSessionCheck(sessions: ConsoleSessions): ConsoleSessionCheck {
  return {
    async admits(request) {
      const id = sessionIdOf(request);
      // Without ADMIN_TOKEN the bearer check answers (403 admin_disabled), cookie or not.
      if (id === undefined || !sessions.enabled) return false;
      if (!(await sessions.isValid(id))) {
        throw new GatewayError("invalid_admin_token", { message: "The console session has ended; sign in again." });
      }
      if (!SAFE_METHODS.has(request.method)) checkConsoleCsrf(request);
      return true;
    },
  };
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Path=/ (the admin API is under it), Secure over TLS. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, id: string, maxAgeSeconds = CONSOLE_SESSION_SECONDS) {
  // request.protocol honours X-Forwarded-Proto only when TRUST_PROXY trusts the proxy.
  const secure = request.protocol === "https" ? "; Secure" : "";
  reply.header("set-cookie", `${CONSOLE_SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}
