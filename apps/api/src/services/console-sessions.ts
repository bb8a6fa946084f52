import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/** The console's session cookie: an opaque random id, never the admin token. */
export const CONSOLE_SESSION_COOKIE = "llmgw_console";

/** How long a console session lasts after sign-in (it is not extended by use). */
export const CONSOLE_SESSION_SECONDS = 12 * 60 * 60;

export interface ConsoleSessions {
  /** False while ADMIN_TOKEN is unset: no session is valid then, whatever Redis holds. */
  readonly enabled: boolean;
  /** Starts a session; returns its id, the cookie's value. */
  create(): Promise<string>;
  /** Whether the id names a live session. Redis unreachable throws (the caller answers 503). */
  isValid(id: string): Promise<boolean>;
  /** Ends the session (sign-out); an unknown id is fine. */
  destroy(id: string): Promise<void>;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Console sessions in Redis, so every API instance knows them and a sign-out ends them
 * everywhere. Keys are `${prefix}:console-session:<sha256 of the id>`: a copy of Redis gives
 * nobody a usable cookie. The value names the ADMIN_TOKEN the session was opened with (an HMAC
 * keyed by it), so changing or unsetting the token ends every session at once, as it would
 * end the admin's bearer access.
 */
export function createConsoleSessions(options: { redis: Redis; prefix: string; adminToken: string | undefined; ttlSeconds?: number }): ConsoleSessions {
  const ttl = options.ttlSeconds ?? CONSOLE_SESSION_SECONDS;
  const keyOf = (id: string) => `${options.prefix}:console-session:${createHash("sha256").update(id).digest("hex")}`;
  const tokenMark = options.adminToken === undefined ? null : createHmac("sha256", options.adminToken).update("llmgw console session").digest("hex");
  return {
    enabled: tokenMark !== null,
    async create() {
      if (tokenMark === null) throw new Error("console sessions need ADMIN_TOKEN");
      const id = randomBytes(32).toString("base64url");
      await options.redis.set(keyOf(id), tokenMark, "EX", ttl);
      return id;
    },
    async isValid(id) {
      if (tokenMark === null || !SESSION_ID.test(id)) return false;
      return (await options.redis.get(keyOf(id))) === tokenMark;
    },
    async destroy(id) {
      if (SESSION_ID.test(id)) await options.redis.del(keyOf(id));
    },
  };
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const separator = part.indexOf("=");
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
