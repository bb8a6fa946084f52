/** The upstream's own error object, parsed leniently from whatever body it sent. */
export interface UpstreamErrorDetail {
  message: string;
  type: string | null;
  param: string | null;
  code: string | null;
}

export interface ProviderErrorOptions {
  provider: string;
  /** Upstream HTTP status; undefined for connection errors and timeouts. */
  status?: number;
  retryable: boolean;
  /** Delay the upstream asked for (Retry-After / retry-after-ms), in ms. */
  retryAfterMs?: number;
  detail?: Partial<UpstreamErrorDetail>;
  cause?: unknown;
}

/**
 * The only error an adapter throws. The retry decision lives here: the queue reads
 * `retryable` and `retryAfterMs` and never guesses from messages.
 */
export class ProviderError extends Error {
  readonly provider: string;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly detail: UpstreamErrorDetail;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "ProviderError";
    this.provider = options.provider;
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.detail = {
      message: options.detail?.message ?? message,
      type: options.detail?.type ?? null,
      param: options.detail?.param ?? null,
      code: options.detail?.code ?? null,
    };
  }
}

/** Statuses worth another try: timeouts, conflicts, rate limits and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
