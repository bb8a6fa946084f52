import { timingSafeEqual, createHash } from "node:crypto";

/** Who is calling: the key's ids and limits, never the key itself. */
export interface Principal {
  keyId: string;
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
        keyId: `static-${match + 1}`,
        userId: null,
        keyName: `API_KEYS #${match + 1}`,
        rateLimitPerMinute: limits.perMinute,
        rateLimitPerHour: limits.perHour,
        models: null,
      };
    },
  };
}
