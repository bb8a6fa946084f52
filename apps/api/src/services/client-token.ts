import { createHmac, timingSafeEqual } from "node:crypto";

/** A token lives at most this long: `exp` further ahead is refused, so a leaked token dies within a day. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;
/** Longer than any token worth checking; bounds the work a made-up one can cause. */
const MAX_TOKEN_LENGTH = 4096;

/** Does the presented credential look like a JWT (three base64url parts) rather than a `gw-` key? */
export function looksLikeToken(credential: string): boolean {
  return credential.length <= MAX_TOKEN_LENGTH && /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(credential);
}

const decodeJson = (part: string): unknown => {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return null;
  }
};

/**
 * The key id a client token stands for (JWT_SECRET_KEY): an HS256 JWT whose `sub` is a database key's id
 * and whose `exp` is in the future and at most 24 h away; null for anything else (other algorithms
 * included, `none` above all). The key's own checks (revoked, switched off, expired, its user) are
 * the caller's, on every use, so a revoked key's tokens stop with it.
 */
export function verifyClientToken(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): number | null {
  if (!looksLikeToken(token)) return null;
  const [header, payload, signature] = token.split(".");
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const presented = Buffer.from(signature, "base64url");
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
  const head = decodeJson(header) as { alg?: unknown } | null;
  const claims = decodeJson(payload) as { sub?: unknown; exp?: unknown; nbf?: unknown } | null;
  if (head?.alg !== "HS256" || !claims) return null;
  const { sub, exp, nbf } = claims;
  if (typeof exp !== "number" || exp <= nowSeconds || exp > nowSeconds + MAX_TOKEN_LIFETIME_SECONDS) return null;
  if (typeof nbf === "number" && nbf > nowSeconds) return null;
  if (typeof sub !== "string" || !/^[1-9][0-9]{0,15}$/.test(sub)) return null;
  return Number(sub);
}
