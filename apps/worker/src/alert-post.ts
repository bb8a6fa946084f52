import { webhookHeaders } from "@llmgw/jobs";

const ALERT_TIMEOUT_MS = 5000;

/**
 * POSTs an operator alert (JSON `body`) to ALERT_WEBHOOK_URL, signed like job webhooks when the
 * secret is set (`id` is its `webhook-id`). Resolves to the receiver's status; rejects when it
 * cannot be reached within 5 s.
 */
export async function postAlert(url: string, secret: string | undefined, id: string, body: string): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret) Object.assign(headers, webhookHeaders(secret, id, body));
  const response = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(ALERT_TIMEOUT_MS) });
  await response.body?.cancel();
  return response.status;
}
