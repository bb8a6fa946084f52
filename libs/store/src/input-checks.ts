import { GatewayError } from "@llmgw/errors";
import { checkAllowedIps } from "./ip-allow-list.js";

/** Checks for admin input that reaches the store without a schema (CLI); each names the field as `param`. */
const invalid = (param: string, message: string) => new GatewayError("invalid_request", { message, param });

export function requireText(value: unknown, param: string): string {
  if (typeof value !== "string" || value.trim() === "") throw invalid(param, `'${param}' must be a non-empty string.`);
  return value.trim();
}

/** A user or key id: a positive whole number (ids are integers, 1, 2, 3…). */
export function requireId(value: unknown, param: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw invalid(param, `'${param}' must be a positive whole number.`);
  return value as number;
}

/** A positive whole number or null (absent = null). */
export function optionalLimit(value: unknown, param: string): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw invalid(param, `'${param}' must be a positive whole number.`);
  return value as number;
}

/** A non-empty list of model names, deduplicated, or null for "every model". */
export function optionalModels(value: unknown, param: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== "string" || item.trim() === "")) {
    throw invalid(param, `'${param}' must be a non-empty list of model names (omit it to allow every model).`);
  }
  return [...new Set(value.map((item: string) => item.trim()))];
}

/** Unix seconds in the future, or null for "never". */
export function optionalExpiry(value: unknown, param: string, now: number): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value)) throw invalid(param, `'${param}' must be a unix time in seconds.`);
  // Milliseconds are the likely mistake; 1e11 seconds is the year 5138.
  if ((value as number) >= 1e11) throw invalid(param, `'${param}' must be a unix time in seconds, not milliseconds.`);
  if ((value as number) <= now) throw invalid(param, `'${param}' must be in the future.`);
  return value as number;
}

/** A list of client addresses and CIDRs (ip-allow-list.ts), or null for "from anywhere". */
export function optionalAllowedIps(value: unknown, param: string): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw invalid(param, `'${param}' must be a list of IPv4 or IPv6 addresses or CIDRs (null allows every address).`);
  }
  const entries = [...new Set(value.map((item: string) => item.trim()))];
  try {
    checkAllowedIps(entries);
  } catch (error) {
    throw invalid(param, `'${param}': ${(error as Error).message}.`);
  }
  return entries;
}

/** true or false. */
export function requireBoolean(value: unknown, param: string): boolean {
  if (typeof value !== "boolean") throw invalid(param, `'${param}' must be true or false.`);
  return value;
}
