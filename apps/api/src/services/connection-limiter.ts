import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { GatewayError } from "@llmgw/errors";
import { luaScript, type Redis } from "@llmgw/redis";

/** The long-lived connections a key may hold a bounded number of. */
export type ConnectionKind = "streams" | "sockets";

/** One open connection's slot; release it when the connection closes (again is harmless). */
export interface ConnectionLease {
  /** `x-ratelimit-limit-*` and `x-ratelimit-remaining-*` of this kind, for the answer's headers. */
  headers: Record<string, string>;
  release(): void;
}

export interface ConnectionLimiter {
  /** Takes a slot of the key's cap, or throws `429 too_many_connections`; Redis errors reject (503). */
  acquire(keyId: string, kind: ConnectionKind): Promise<ConnectionLease>;
  /** Stops renewing; leases still held expire on their own within one lease length. */
  close(): void;
}

export interface ConnectionLimiterOptions {
  redis: Redis;
  /** `QUEUE_PREFIX`: every key lives under `${prefix}:connections:`. */
  prefix: string;
  caps: Record<ConnectionKind, number>;
  /** A slot whose API instance died frees after this; renewed every third of it. Only tests shorten it. */
  leaseMs?: number;
  onRenewError?: (error: Error) => void;
}

// Both src/services and dist/services sit two levels below apps/api, where lua/ lives.
const leaseScript = luaScript(readFileSync(new URL("../../lua/connection-lease.lua", import.meta.url), "utf8"));
/** A renewal must never be refused: the connection it belongs to is open. */
const RENEWAL_CAP = 2 ** 31;


/** What the caps are called where an operator sets them, for the 429's message. */
const capVariables: Record<ConnectionKind, { what: string; variable: string }> = {
  streams: { what: "event streams", variable: "MAX_EVENT_STREAMS_PER_KEY" },
  sockets: { what: "WebSocket connections", variable: "MAX_WEBSOCKETS_PER_KEY" },
};

/**
 * Per-key caps on open event streams and WebSockets, enforced across every API instance: each
 * connection holds a lease in Redis (connection-lease.lua) that its instance renews while it is
 * open and removes when it closes, so a crashed instance's slots free within one lease length.
 */
export function createConnectionLimiter(options: ConnectionLimiterOptions): ConnectionLimiter {
  const leaseMs = options.leaseMs ?? 60_000;
  const lease = (key: string, leaseId: string, cap: number) => leaseScript.run(options.redis, 1, [key, leaseId, cap, leaseMs]) as Promise<[taken: number, count: number]>;
  const instance = randomUUID();
  let sequence = 0;
  /** Lease id -> its sorted set, for renewal. */
  const held = new Map<string, string>();

  const renewal = setInterval(() => {
    for (const [leaseId, key] of held) {
      lease(key, leaseId, RENEWAL_CAP).catch((error: Error) => options.onRenewError?.(error));
    }
  }, Math.max(10, Math.floor(leaseMs / 3)));
  renewal.unref();

  return {
    async acquire(keyId, kind) {
      const cap = options.caps[kind];
      // The {hash tag} keeps a key's sets in one Redis Cluster slot, like the rate limiter's.
      const key = `${options.prefix}:connections:{${keyId}}:${kind}`;
      const leaseId = `${instance}:${++sequence}`;
      const [taken, count] = await lease(key, leaseId, cap);
      if (taken !== 1) {
        const { what, variable } = capVariables[kind];
        throw new GatewayError("too_many_connections", {
          message: `Too many open ${what} for this API key: at most ${cap} at once (${variable}). Close one, then try again.`,
          headers: { "retry-after": "1", [`x-ratelimit-limit-${kind}`]: String(cap), [`x-ratelimit-remaining-${kind}`]: "0" },
        });
      }
      held.set(leaseId, key);
      return {
        headers: { [`x-ratelimit-limit-${kind}`]: String(cap), [`x-ratelimit-remaining-${kind}`]: String(Math.max(0, cap - count)) },
        release() {
          if (!held.delete(leaseId)) return;
          // Not renewed any more: if Redis misses this, the lease expires on its own.
          options.redis.zrem(key, leaseId).catch(() => {});
        },
      };
    },
    close() {
      clearInterval(renewal);
    },
  };
}
