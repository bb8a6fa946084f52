import { errorCatalogue } from "@llmgw/errors";
import { ProviderError } from "@llmgw/providers";
import type { JobFailure, JobMode } from "@llmgw/jobs";

export interface TryOutcome {
  attempt: number;
  maxAttempts: number;
  /** Chunks of this try already appended to the job's log. */
  chunksSent: number;
  mode: JobMode;
}

/**
 * Whether a failed try gets another. The adapter's ProviderError carries the decision for the
 * upstream; on top of it: no tries left, or text already reached a synchronous SSE caller
 * (a retry would send it twice or mixed) means the job ends here.
 */
export function shouldRetry(error: unknown, outcome: TryOutcome): boolean {
  if (!(error instanceof ProviderError) || !error.retryable) return false;
  if (outcome.attempt >= outcome.maxAttempts) return false;
  if (outcome.chunksSent > 0 && outcome.mode === "sync-stream") return false;
  return true;
}

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;
const MAX_RETRY_AFTER_MS = 120_000;

/** Errors whose next try goes to another, healthy channel: no wait (see markFailover). */
const failovers = new WeakSet<object>();

/** Marks a try's error as failing over to another healthy channel, so backoffDelay answers 0. */
export function markFailover(error: unknown): void {
  if (typeof error === "object" && error !== null) failovers.add(error);
}

/** BullMQ `custom` backoff: none when another channel takes over; else what the upstream asked for, else exponential with full jitter. */
export function backoffDelay(attemptsMade: number, error: unknown, random = Math.random): number {
  if (typeof error === "object" && error !== null && failovers.has(error)) return 0;
  if (error instanceof ProviderError && error.retryAfterMs !== undefined) {
    return Math.min(Math.max(error.retryAfterMs, 0), MAX_RETRY_AFTER_MS);
  }
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(attemptsMade - 1, 0));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** What a failed try says of its channel: nothing (the request's fault), one failure more, or disable it. */
export type ChannelFault = { kind: "failure"; retryAfterMs?: number } | { kind: "disable"; reason: "key_refused" | "no_credit" } | null;

/**
 * A refused key (401/403) or no credit (402, `insufficient_quota`) disables the channel; a
 * retryable failure (429, 408, 5xx, connection error, timeout) counts against it; a 400, 404 or
 * 422 is the request's own fault and says nothing of the channel.
 */
export function channelFaultOf(error: unknown): ChannelFault {
  if (!(error instanceof ProviderError)) return null;
  if (error.status === 401 || error.status === 403) return { kind: "disable", reason: "key_refused" };
  if (error.status === 402 || error.detail.code === "insufficient_quota") return { kind: "disable", reason: "no_credit" };
  if (error.retryable) return { kind: "failure", retryAfterMs: error.status === 429 ? error.retryAfterMs : undefined };
  return null;
}

/** May this job have another try at all: tries left, and no text already sent to a synchronous stream? */
export function hasTriesLeft(outcome: TryOutcome): boolean {
  return outcome.attempt < outcome.maxAttempts && !(outcome.chunksSent > 0 && outcome.mode === "sync-stream");
}

/**
 * Did the provider refuse the gateway's own credentials (its 401 or 403)? That is the operator's
 * problem, never the client's: the client must not take it for a refusal of its own key.
 */
export function isProviderAuthError(error: unknown): error is ProviderError {
  return error instanceof ProviderError && (error.status === 401 || error.status === 403);
}

/** What the job's waiters are told when it ends with this error. */
export function failureOf(error: unknown, attempts: number): JobFailure {
  if (isProviderAuthError(error)) {
    // The upstream's own text is left out: it may quote (part of) the key it refused.
    return {
      status: errorCatalogue.provider_auth_error.status,
      error: {
        message: `The provider "${error.provider}" refused the gateway's credentials (HTTP ${error.status}). This is not about your API key: the gateway's operator has to fix its key for "${error.provider}".`,
        type: errorCatalogue.provider_auth_error.type,
        param: null,
        code: "provider_auth_error",
      },
    };
  }
  if (error instanceof ProviderError && error.status !== undefined && error.status < 500 && !error.retryable) {
    // Upstream 4xx pass through with their status and message (CONTRACT section 8).
    return {
      status: error.status,
      error: {
        message: error.detail.message,
        type: error.detail.type ?? "invalid_request_error",
        param: error.detail.param,
        code: error.detail.code,
      },
    };
  }
  const reason = error instanceof ProviderError ? error.detail.message : "internal worker error";
  const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
  return {
    status: 502,
    error: {
      message: `The provider failed after ${tries}: ${reason}`,
      type: "upstream_error",
      param: null,
      code: "upstream_error",
    },
  };
}
