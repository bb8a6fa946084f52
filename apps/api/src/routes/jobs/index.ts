import type { FastifyInstance, FastifyRequest } from "fastify";
import type { FastifySchema } from "fastify/types/schema.js";
import { GatewayError } from "@llmgw/errors";
import { isEventId, isJobId } from "@llmgw/jobs";
import type { ApiContext } from "../../context.js";
import { isIdempotencyKey } from "../../services/job-idempotency.js";
import { writeJobEventStream } from "../../services/job-event-stream.js";
import type { JobSubmission } from "../../services/job-service.js";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT, jobIdParamsSchema, jobSubmissionSchema } from "../../schemas/jobs.js";
import {
  bodyErrors,
  clientErrors,
  connectionCapHeaders,
  errorResponse,
  eventStreamLimitError,
  readLimitError,
  readLimitHeaders,
  requestLimitError,
  requestLimitHeaders,
} from "../../schemas/error-responses.js";

const tags = ["jobs"];

const jobHeaders = { "x-job-id": { type: "string", description: "The job's id" } } as const;
/** A success answer, for the document only: Fastify never serializes with it, so no field of a job is dropped. */
const success = (description: string, headers: Record<string, unknown>) => ({ description, headers, type: "object" });
const jobNotFound = errorResponse("job_not_found: no job with this id belongs to the caller's key");
/** What every reading route answers besides its success: a bad id or cursor, no such job, the read limit. */
const readErrors = { ...clientErrors, 400: bodyErrors[400], 404: jobNotFound, 429: readLimitError } as const;

/** Asynchronous jobs: submit, list, read, cancel, and their events as SSE. Every route sees only the caller's jobs. */
export async function jobRoutes(app: FastifyInstance, context: ApiContext) {
  // Typed as a plain schema: its declared error codes would otherwise narrow `reply.code` and refuse 202.
  const submitSchema: FastifySchema = {
    body: jobSubmissionSchema,
    tags,
    summary: "Submit a chat completion as a job",
    description:
      "Answers 202 with the job and its Location. With an Idempotency-Key already used for the same body in the last 24 h, answers 200 with that job (header idempotent-replayed: true) and enqueues nothing; with a different body, 422.",
    successResponses: {
      202: success("The job, queued", { location: { type: "string" }, ...jobHeaders, ...requestLimitHeaders }),
      200: success("The job an earlier request with the same Idempotency-Key and body created", {
        "idempotent-replayed": { type: "string", description: "true" },
        location: { type: "string" },
        ...jobHeaders,
        ...requestLimitHeaders,
      }),
    },
    response: {
      ...clientErrors,
      ...bodyErrors,
      403: errorResponse("model_not_allowed: this API key may not use the model"),
      404: errorResponse("model_not_found: no configured provider serves the model"),
      422: errorResponse("idempotency_key_reused: this Idempotency-Key was used with a different body"),
      429: requestLimitError,
    },
  };
  app.post(
    "/jobs",
    {
      schema: submitSchema,
      config: { rateLimit: "consume" },
    },
    async (request, reply) => {
      const { job, replayed } = await context.jobs.submit(request.principal, request.body as JobSubmission, {
        requestId: request.id,
        idempotencyKey: idempotencyKeyOf(request),
      });
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply
        .code(replayed ? 200 : 202)
        .header("location", `${request.url.split("?")[0]}/${job.id}`)
        .header("x-job-id", job.id)
        .send(job);
    },
  );

  // Reads count against the key's read limit (READ_RATE_LIMIT_PER_MINUTE), not its request limits.
  const listSchema = {
    tags,
    summary: "List the caller's jobs, newest first",
    successResponses: { 200: success("A page of jobs", { ...requestLimitHeaders, ...readLimitHeaders }) },
    response: { ...clientErrors, 400: bodyErrors[400], 429: readLimitError },
  };
  app.get("/jobs", { schema: listSchema, config: { rateLimit: "read" } }, async (request) => {
    const query = request.query as Record<string, unknown>;
    return context.jobs.list(request.principal, { limit: listLimit(query.limit), after: listCursor(query.after) });
  });

  const readSchema = {
    params: jobIdParamsSchema,
    tags,
    summary: "Read a job",
    successResponses: { 200: success("The job", { ...jobHeaders, ...requestLimitHeaders, ...readLimitHeaders }) },
    response: readErrors,
  };
  app.get("/jobs/:id", { schema: readSchema, config: { rateLimit: "read" } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await context.jobs.get(request.principal, id);
    reply.header("x-job-id", job.id);
    return job;
  });

  // Takes no body; `Content-Type: application/json` with an empty one is accepted (plugins/json-body.ts).
  const cancelRoute = {
    schema: {
      params: jobIdParamsSchema,
      tags,
      summary: "Cancel a queued or running job",
      successResponses: { 200: success("The job, cancelled", { ...jobHeaders, ...requestLimitHeaders, ...readLimitHeaders }) },
      response: { ...readErrors, 409: errorResponse("job_already_ended: the job has already ended; there is nothing to cancel") },
    },
    config: { rateLimit: "read" as const },
  };
  app.post("/jobs/:id/cancel", cancelRoute, async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await context.jobs.cancel(request.principal, id);
    reply.header("x-job-id", job.id);
    return job;
  });

  app.get(
    "/jobs/:id/events",
    {
      schema: {
        params: jobIdParamsSchema,
        tags,
        summary: "The job's events as server-sent events",
        description:
          "Resumable: send the last `id:` seen as the Last-Event-ID header (or `?after=`). Ends after the job's final event, " +
          "or after EVENT_STREAM_MAX_MS with a `reconnect` event (resume with Last-Event-ID). " +
          "At most MAX_EVENT_STREAMS_PER_KEY open at once per key (429 too_many_connections above).",
        successResponses: {
          200: {
            description: "The job's events (`id:`, `event:`, `data:`), then the end of the stream",
            headers: { ...jobHeaders, ...requestLimitHeaders, ...readLimitHeaders, ...connectionCapHeaders("streams", "MAX_EVENT_STREAMS_PER_KEY") },
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
        },
        response: { ...readErrors, 429: eventStreamLimitError },
      },
      config: { rateLimit: "read" },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const after = resumeAfter(request);
      await context.jobs.owned(request.principal, id);
      // A slot of the key's MAX_EVENT_STREAMS_PER_KEY, across instances, until the stream ends.
      const lease = await context.connectionLimiter.acquire(request.principal.keyId, "streams");
      try {
        reply.header("x-job-id", id).headers(lease.headers);
        reply.hijack();
        await writeJobEventStream(reply.raw, reply.getHeaders(), {
          hub: context.hub,
          jobId: id,
          after,
          openSession: (end) => context.keySessions.open(request.principal.keyId, end),
          maxLifetimeMs: context.config.eventStreamMaxMs,
        });
      } finally {
        lease.release();
      }
      return reply;
    },
  );
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers["idempotency-key"];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !isIdempotencyKey(value)) {
    throw new GatewayError("invalid_request", {
      message: "Invalid Idempotency-Key header: 1 to 255 printable ASCII characters without spaces.",
    });
  }
  return value;
}

/** Last-Event-ID (what EventSource sends when it reconnects) wins over `?after=`. */
function resumeAfter(request: FastifyRequest): string | undefined {
  const header = request.headers["last-event-id"];
  const value = typeof header === "string" && header !== "" ? header : (request.query as Record<string, unknown>).after;
  if (value === undefined || value === "") return undefined;
  if (!isEventId(value)) {
    throw new GatewayError("invalid_request", { message: "Invalid Last-Event-ID / 'after': an event id such as 1764201600000-0.", param: "after" });
  }
  return value;
}

function listLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIST_LIMIT;
  const limit = typeof value === "string" && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIST_LIMIT)) {
    throw new GatewayError("invalid_request", { message: `Invalid value for 'limit': an integer from 1 to ${MAX_LIST_LIMIT}.`, param: "limit" });
  }
  return limit;
}

function listCursor(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isJobId(value)) throw new GatewayError("invalid_request", { message: "Invalid value for 'after': a job id.", param: "after" });
  return value;
}
