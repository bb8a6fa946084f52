import { errorCatalogue, type ErrorCode } from "./catalogue.js";

/** The OpenAI error object: what every non-success answer carries under `error`. */
export interface ErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  /** Set on a 504 sync timeout so the caller can poll the job. */
  job_id?: string;
}

export interface ErrorBody {
  error: ErrorObject;
}

export interface GatewayErrorOptions {
  message?: string;
  param?: string | null;
  jobId?: string;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** The one error type of the gateway: a catalogued code, its HTTP status and the OpenAI error shape. */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly jobId: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode | string,
    options: GatewayErrorOptions & { status?: number; type?: string } = {},
  ) {
    const entry = (errorCatalogue as Record<string, { status: number; type: string; message: string }>)[code];
    super(options.message ?? entry?.message ?? "Error.", { cause: options.cause });
    this.name = "GatewayError";
    this.status = options.status ?? entry?.status ?? 500;
    this.type = options.type ?? entry?.type ?? "server_error";
    this.param = options.param ?? null;
    this.jobId = options.jobId;
    this.headers = { ...options.headers };
    // The official SDKs retry 5xx on their own; 502/504 mean the gateway already retried.
    if (this.status === 502 || this.status === 504) this.headers["x-should-retry"] = "false";
    if (this.jobId) this.headers["x-job-id"] = this.jobId;
  }

  toErrorObject(): ErrorObject {
    const object: ErrorObject = { message: this.message, type: this.type, param: this.param, code: this.code };
    if (this.jobId) object.job_id = this.jobId;
    return object;
  }

  toErrorBody(): ErrorBody {
    return { error: this.toErrorObject() };
  }

  /** Rebuilds an error stored as an error object (job data, events) with its status. */
  static fromErrorObject(status: number, object: ErrorObject): GatewayError {
    return new GatewayError(object.code ?? "internal_error", {
      status,
      type: object.type,
      message: object.message,
      param: object.param,
      jobId: object.job_id,
    });
  }
}

/** Any thrown value as a GatewayError; unknown errors become a 500 that reveals nothing of their text. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError("internal_error", { cause: error });
}
