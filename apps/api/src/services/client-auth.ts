import { timingSafeEqual, createHash } from "node:crypto";

/** Who is calling: the key's ids and limits, never the key itself. */
export interface Principal {
  /**
   * The key's identity everywhere downstream (job owners, cache scopes, rate-limit and Redis keys,
   * usage entries, revocations, metrics): `databaseKeyId(id)` or `staticKeyId(n)`, never equal.
   */
  keyId: string;
  /** `String(id)` of a database key's user; null for static keys. */
  userId: string | null;
  keyName: string;
  rateLimitPerMinute: number;
  rateLimitPerHour: number;
  /** Models this key may use; null = all. */
  models: string[] | null;
}

/** Turns a presented client key into a Principal, or null when it is not valid. */
export interface ClientAuthenticator {
  authenticate(apiKey: string): Promise<Principal | null>;
  close?(): void;
}

/** A database key's identity: its integer id in decimal ("1"), digits only. */
export const databaseKeyId = (id: number): string => String(id);

/** A static `API_KEYS` key's identity: "static-" and its 1-based position, so never all digits like a database key's. */
export const staticKeyId = (position: number): string => `static-${position}`;

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * The deprecated static `API_KEYS` list. Keys are compared as SHA-256 digests in constant
 * time; the key id is the key's position in the list, so job data never holds the key.
 */
export function createStaticAuthenticator(keys: string[], limits: { perMinute: number; perHour: number }): ClientAuthenticator {
  const digests = keys.map(digest);
  return {
    async authenticate(apiKey) {
      const presented = digest(apiKey);
      let match = -1;
      digests.forEach((candidate, index) => {
        if (timingSafeEqual(candidate, presented) && match === -1) match = index;
      });
      if (match === -1) return null;
      return {
        keyId: staticKeyId(match + 1),
        userId: null,
        keyName: `API_KEYS #${match + 1}`,
        rateLimitPerMinute: limits.perMinute,
        rateLimitPerHour: limits.perHour,
        models: null,
      };
    },
  };
}
