import { GatewayError } from "@llmgw/errors";

/** Ends one open stream or socket; called at most once, when its key is revoked. */
export type EndSession = () => void;

export interface KeySessionsOptions {
  /** How long a revocation is remembered, so a stream that opens just after it (authenticated just before) still ends. */
  rememberRevokedMs?: number;
  now?: () => number;
}

export const REVOKED_KEY_MESSAGE = "This API key has been revoked.";

/** The error a revoked key's stream or socket ends with. */
export const revokedKeyError = () => new GatewayError("invalid_api_key", { message: REVOKED_KEY_MESSAGE });

/**
 * This process's open streams and sockets, indexed by the key that opened them, so a revocation
 * ends exactly that key's sessions without scanning the others. A session opened within
 * `rememberRevokedMs` of its key's revocation (its request authenticated from a cache entry a
 * moment before) is ended as it opens.
 */
export function createKeySessions(options: KeySessionsOptions = {}) {
  const rememberMs = options.rememberRevokedMs ?? 10_000;
  const now = options.now ?? Date.now;
  const byKey = new Map<string, Set<EndSession>>();
  const revokedUntil = new Map<string, number>();

  function recentlyRevoked(keyId: string): boolean {
    const until = revokedUntil.get(keyId);
    if (until === undefined) return false;
    if (now() < until) return true;
    revokedUntil.delete(keyId);
    return false;
  }

  return {
    /** Registers an open session of the key; returns the function that unregisters it (call it when the session ends). */
    open(keyId: string, end: EndSession): () => void {
      if (recentlyRevoked(keyId)) {
        queueMicrotask(end);
        return () => {};
      }
      let sessions = byKey.get(keyId);
      if (!sessions) byKey.set(keyId, (sessions = new Set()));
      const session: EndSession = () => end();
      sessions.add(session);
      return () => {
        sessions.delete(session);
        if (sessions.size === 0 && byKey.get(keyId) === sessions) byKey.delete(keyId);
      };
    },

    /** Ends every open session of the key and remembers the revocation for a while; the number ended. */
    revoke(keyId: string): number {
      const at = now();
      revokedUntil.set(keyId, at + rememberMs);
      // Forget what has expired on the way, so the map stays as small as the recent revocations.
      for (const [other, until] of revokedUntil) if (until <= at) revokedUntil.delete(other);
      const sessions = byKey.get(keyId);
      byKey.delete(keyId);
      if (!sessions) return 0;
      for (const end of sessions) end();
      return sessions.size;
    },

    /** True while the key's revocation is remembered here. */
    isRevoked: recentlyRevoked,

    /** Open sessions, of one key or of all. */
    count(keyId?: string): number {
      if (keyId !== undefined) return byKey.get(keyId)?.size ?? 0;
      let total = 0;
      for (const sessions of byKey.values()) total += sessions.size;
      return total;
    },
  };
}

export type KeySessions = ReturnType<typeof createKeySessions>;
