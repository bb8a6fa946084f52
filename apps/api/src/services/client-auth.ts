import { timingSafeEqual, createHash } from "node:crypto";
import { GatewayError } from "@llmgw/errors";
import type { OwnerBudgets } from "@llmgw/jobs";
import type { IpAllowList } from "@llmgw/store";

/** Who is calling: the key's ids and limits, never the key itself. */
export interface Principal {
  /**
   * The key's identity everywhere downstream (job owners, cache scopes, rate-limit and Redis keys,
   * usage entries, revocations, metrics): `databaseKeyId(id)` or `staticKeyId(key)`, never equal.
   */
  keyId: string;
  /** `String(id)` of a database key's user; null for static keys. */
  userId: string | null;
  keyName: string;
  rateLimitPerMinute: number;
  rateLimitPerHour: number;
  /** Models this key may use; null = all. */
  models: string[] | null;
  /** Client addresses the key may be used from (its `allowed_ips`); null = anywhere. */
  allowedIps: IpAllowList | null;
  /** The token budgets of the key and its user; null when neither has one. */
  budgets: OwnerBudgets | null;
  /** The key's `max_concurrent`; null = no cap. */
  maxConcurrent: number | null;
}

/**
 * Refuses a key used from an address outside its allow-list: `address` is the socket's peer, or the
 * client that a trusted proxy names in X-Forwarded-For (TRUST_PROXY; Fastify's `request.ip`).
 */
export function checkClientAddress(principal: Principal, address: string | undefined): void {
  if (principal.allowedIps && !principal.allowedIps.allows(address ?? "")) throw new GatewayError("ip_not_allowed");
}

/** Turns a presented client key into a Principal, or null when it is not valid. */
export interface ClientAuthenticator {
  authenticate(apiKey: string): Promise<Principal | null>;
  close?(): void | Promise<void>;
}

/** A database key's identity: its integer id in decimal ("1"), digits only. */
export const databaseKeyId = (id: number): string => String(id);

/** Separates the identity digest from every other use of a key's SHA-256 (the comparison, stored hashes). */
const STATIC_ID_DOMAIN = "llmgw static API_KEYS identity v1\0";

/**
 * A static `API_KEYS` key's identity: "static-" and 16 hex digits of a SHA-256 of the key under
 * a prefix of its own. It follows the key, not its place in the list, so removing a key never hands
 * its jobs, cache, idempotency records or limits to another; it is never all digits like a database
 * key's; and 64 bits of a digest reveal nothing usable about the key.
 */
export const staticKeyId = (key: string): string =>
  `static-${createHash("sha256").update(STATIC_ID_DOMAIN + key, "utf8").digest("hex").slice(0, 16)}`;

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * The deprecated static `API_KEYS` list. Keys are compared as SHA-256 digests in constant
 * time; the key id is derived from the key (`staticKeyId`), so job data never holds the key.
 */
export function createStaticAuthenticator(keys: string[], limits: { perMinute: number; perHour: number }): ClientAuthenticator {
  const digests = keys.map(digest);
  const keyIds = keys.map(staticKeyId);
  return {
    async authenticate(apiKey) {
      const presented = digest(apiKey);
      let match = -1;
      digests.forEach((candidate, index) => {
        if (timingSafeEqual(candidate, presented) && match === -1) match = index;
      });
      if (match === -1) return null;
      return {
        keyId: keyIds[match],
        userId: null,
        keyName: `API_KEYS #${match + 1}`,
        rateLimitPerMinute: limits.perMinute,
        rateLimitPerHour: limits.perHour,
        models: null,
        allowedIps: null,
        budgets: null,
        maxConcurrent: null,
      };
    },
  };
}
