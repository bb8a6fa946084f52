import { isIP } from "node:net";

/** A parser turns a raw environment string into a value or throws with a reason (no variable name). */
export type Parser<T> = (raw: string) => T;

/**
 * A reason that never quotes the value, so it may be printed even for a secret variable
 * (whose other parse errors are reported only as "is not valid").
 */
export class SafeReason extends Error {}

export const parseString: Parser<string> = (raw) => {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw.trim();
};

export const parseBoolean: Parser<boolean> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
};

export function parseInteger(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const value = Number(raw.trim());
    if (value < min || value > max) throw new Error(`must be between ${min} and ${max}, got ${value}`);
    return value;
  };
}

export function parseChoice<T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    const value = raw.trim().toLowerCase();
    if (!choices.includes(value as T)) throw new Error(`must be one of ${choices.join(", ")}, got "${raw}"`);
    return value as T;
  };
}

export function parseUrl(protocols: string[]): Parser<string> {
  return (raw) => {
    let url: URL;
    try {
      url = new URL(raw.trim());
    } catch {
      throw new Error(`must be a URL (${protocols.join(" or ")}//…)`);
    }
    if (!protocols.includes(url.protocol)) throw new Error(`must start with ${protocols.join(" or ")}//`);
    return raw.trim().replace(/\/+$/, "");
  };
}

export const parseList: Parser<string[]> = (raw) =>
  raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

/** A secret of at least `minLength` characters: short tokens are guessable, so start-up refuses them. */
export function parseSecret(minLength: number): Parser<string> {
  return (raw) => {
    const value = raw.trim();
    if (value === "") throw new SafeReason("must not be empty");
    if (value.length < minLength) throw new SafeReason(`must be at least ${minLength} characters long (use a long random string)`);
    return value;
  };
}

/** What Fastify's `trustProxy` takes: off, on for every hop, a hop count, or the proxies' addresses. */
export type TrustProxy = boolean | number | string[];

/** Named ranges Fastify's trustProxy (proxy-addr) knows besides addresses and CIDRs. */
const PROXY_RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function isAddressOrCidr(item: string): boolean {
  if (PROXY_RANGE_NAMES.has(item)) return true;
  const [address, bits, extra] = item.split("/");
  if (extra !== undefined || isIP(address) === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d+$/.test(bits)) return false;
  return Number(bits) <= (isIP(address) === 4 ? 32 : 128);
}

/** `false`, `true`, a hop count, or comma-separated addresses / CIDRs / `loopback`, `linklocal`, `uniquelocal`. */
export const parseTrustProxy: Parser<TrustProxy> = (raw) => {
  const value = raw.trim().toLowerCase();
  if (["false", "no", "off"].includes(value)) return false;
  if (["true", "yes", "on"].includes(value)) return true;
  if (/^\d+$/.test(value)) return Number(value);
  const items = parseList(raw);
  const bad = items.find((item) => !isAddressOrCidr(item));
  if (items.length === 0 || bad !== undefined) {
    throw new Error(`must be true, false, a number of proxy hops, or comma-separated proxy addresses/CIDRs, got "${bad ?? raw}"`);
  }
  return items;
};
