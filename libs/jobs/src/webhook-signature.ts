import { createHmac, timingSafeEqual } from "node:crypto";

/** The Standard Webhooks headers of one delivery attempt. */
// A type, not an interface: it must pass where any header record is taken (verifyWebhookSignature).
export type WebhookHeaders = {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
};

/** `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the UTF-8 bytes of the secret. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${id}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/** The signed headers for `body`; `id` stays the same across retries so receivers can de-duplicate. */
export function webhookHeaders(secret: string, id: string, body: string, nowMs = Date.now()): WebhookHeaders {
  const timestamp = Math.floor(nowMs / 1000);
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signWebhook(secret, id, timestamp, body) };
}

/**
 * What a receiver does: recompute the signature over the raw body, compare in constant time with
 * each `v1,` signature of the header (space-separated), and refuse stale timestamps (replays).
 */
export function verifyWebhookSignature(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  options: { toleranceSeconds?: number; nowMs?: number } = {},
): boolean {
  const [id, timestampText, signatures] = ["webhook-id", "webhook-timestamp", "webhook-signature"].map((name) => headers[name]);
  if (typeof id !== "string" || typeof timestampText !== "string" || typeof signatures !== "string") return false;
  const timestamp = Number(timestampText);
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (!Number.isInteger(timestamp) || Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body));
  return signatures.split(" ").some((candidate) => {
    const presented = Buffer.from(candidate);
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}
