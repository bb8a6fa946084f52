import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { toJobObject, webhookHeaders, type JobStore } from "@llmgw/jobs";
import { resolveWebhookTarget, WebhookRefusedError, type ResolveHost, type WebhookTarget } from "./webhook-target.js";

export interface WebhookDeliveryDeps {
  store: JobStore;
  /** WEBHOOK_SECRET */
  secret: string;
  /** WEBHOOK_ALLOW_PRIVATE */
  allowPrivate: boolean;
  /** Per attempt, connection to the end of the answer. */
  timeoutMs?: number;
  /** DNS; tests point names where they like. */
  resolve?: ResolveHost;
}

export type DeliveryOutcome = { delivered: true; status: number } | { delivered: false; reason: string };

/** The receiver answered in a way worth another try later (5xx, 408, 429) or not at all. */
export class WebhookRetryableError extends Error {
  override name = "WebhookRetryableError";
}

const USER_AGENT = "llm-gateway-webhooks/1";

/**
 * One attempt at POSTing a finished job's object to its webhook, signed per Standard Webhooks.
 * Resolves when delivered (2xx) or when there is nothing to deliver (the job or its webhook is
 * gone); throws WebhookRetryableError for another try, WebhookRefusedError when none can help.
 */
export async function deliverJobWebhook(deps: WebhookDeliveryDeps, jobId: string): Promise<DeliveryOutcome> {
  const record = await deps.store.get(jobId);
  if (!record) return { delivered: false, reason: "the job has expired" };
  if (!record.webhook) return { delivered: false, reason: "the job has no webhook" };
  const target = await resolveWebhookTarget(record.webhook, { allowPrivate: deps.allowPrivate, resolve: deps.resolve });
  const body = JSON.stringify(toJobObject(record));
  // The id stays the same across retries, so a receiver can tell a repeat from a new message.
  const headers = webhookHeaders(deps.secret, jobId, body);
  const status = await postPinned(target, { ...headers, "content-type": "application/json", "user-agent": USER_AGENT }, body, deps.timeoutMs ?? 10_000);
  if (status >= 200 && status < 300) return { delivered: true, status };
  if (status >= 500 || status === 408 || status === 429) throw new WebhookRetryableError(`the receiver answered ${status}`);
  // Redirects are not followed: the next hop was never checked.
  throw new WebhookRefusedError(`the receiver answered ${status}`);
}

/** POSTs to the URL's host name (Host header, TLS name) while connecting only to the checked address. */
function postPinned(target: WebhookTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const client = target.url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(target.url, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      lookup: pinned,
      agent: false,
    });
    const timer = setTimeout(() => request.destroy(new WebhookRetryableError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.once("response", (response) => {
      // The answer's body is not needed; read it so the socket ends cleanly.
      response.resume();
      response.once("end", () => {
        clearTimeout(timer);
        resolve(response.statusCode ?? 0);
      });
      response.once("error", (error) => {
        clearTimeout(timer);
        reject(new WebhookRetryableError(error.message));
      });
    });
    request.once("error", (error) => {
      clearTimeout(timer);
      reject(error instanceof WebhookRetryableError ? error : new WebhookRetryableError(error.message));
    });
    request.end(body);
  });
}
