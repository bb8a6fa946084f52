import { createHash, randomBytes } from "node:crypto";

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** `length` uniformly random base62 characters from the CSPRNG. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // 248 = 4 * 62: rejecting the top bytes keeps every character equally likely.
      if (byte < 248 && out.length < length) out += base62[byte % 62];
    }
  }
  return out;
}

/** Client keys: `gw-` + 32 base62 characters (about 190 random bits); the logger masks this shape. */
export const API_KEY_PREFIX = "gw-";
const secretLength = 32;
/** How much of a key lists may show: `gw-` and 7 characters (~42 bits), leaving ~148 bits secret. */
const shownLength = API_KEY_PREFIX.length + 7;

/** SHA-256 hex of a client key: what the database stores and looks keys up by. */
export function hashApiKey(key: string): string {
  // A fast unsalted hash is right here: keys are ~190 random bits, so neither a dictionary nor a
  // brute-force search over the hash is feasible, and a slow KDF (bcrypt, scrypt) would cost every
  // request while protecting nothing. Unsalted also makes the hash usable as a lookup index.
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** A new client key, the part lists may show, and the hash to store; the key itself is shown once. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = API_KEY_PREFIX + randomBase62(secretLength);
  return { key, prefix: key.slice(0, shownLength), hash: hashApiKey(key) };
}
