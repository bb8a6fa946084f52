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

/** BullMQ `custom` backoff: what the upstream asked for, else exponential with full jitter. */
export function backoffDelay(attemptsMade: number, error: unknown, random = Math.random): number {
  if (error instanceof ProviderError && error.retryAfterMs !== undefined) {
    return Math.min(Math.max(error.retryAfterMs, 0), MAX_RETRY_AFTER_MS);
  }
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(attemptsMade - 1, 0));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
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
