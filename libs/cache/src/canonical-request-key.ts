import { hash } from "node:crypto";
import type { ChatCompletionRequest } from "@llmgw/providers";

// Bump when the canonical form changes, so old entries are simply never hit again.
const keyVersion = "llmgw-cache-v1";

// Transport options: a streaming and a JSON request for the same completion share one entry.
const transportFields = new Set(["stream", "stream_options"]);

/** Whose cache an entry belongs to: the user, or the key itself when it has no user. */
export function cacheScope(owner: { userId: string | null; keyId: string }): string {
  // Distinct namespaces, so a user id can never equal a key id by accident.
  return owner.userId !== null ? `user:${owner.userId}` : `key:${owner.keyId}`;
}

/**
 * SHA-256 (hex) of the request in canonical JSON (object keys sorted at every depth, array order
 * kept, `stream`/`stream_options` dropped) together with the scope. Every other field, `user`
 * included, is part of the key: any parameter may change the generation.
 */
export function canonicalRequestKey(request: ChatCompletionRequest, scope: string): string {
  const fields = Object.keys(request)
    .filter((name) => !transportFields.has(name))
    .sort();
  const body = objectJson(request, fields);
  return hash("sha256", `[${JSON.stringify(keyVersion)},${JSON.stringify(scope)},${body}]`, "hex");
}

/** JSON with sorted object keys, written directly so keys like `__proto__` stay plain data. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => (isOmitted(item) ? "null" : canonicalJson(item))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    return objectJson(record, Object.keys(record).sort());
  }
  // Numbers, strings, booleans and null as JSON writes them (NaN and Infinity become null).
  return JSON.stringify(value) ?? "null";
}

function objectJson(record: Record<string, unknown>, sortedKeys: string[]): string {
  const members = sortedKeys
    .filter((key) => !isOmitted(record[key]))
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(",")}}`;
}

/** What JSON.stringify leaves out of objects: such a field was never sent by a client. */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}
