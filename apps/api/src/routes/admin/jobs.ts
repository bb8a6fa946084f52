import type { FastifyInstance } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { isJobId, jobStatuses, toJobObject, type JobRecord, type JobStatus } from "@llmgw/jobs";
import type { ApiContext } from "../../context.js";
import { jobIdParamsSchema } from "../../schemas/jobs.js";
import { adminDocs, adminErrors, errorBodySchema, listOf } from "./schemas.js";

const MAX_EVENTS_SHOWN = 500;
const nullableMs = { type: "integer", nullable: true } as const;

/** A job as the admin sees it: the client's job object without its result, plus owner and timing in ms. */
const adminJobSchema = {
  type: "object",
  required: ["id", "object", "status", "model", "provider", "mode", "key_id", "user_id", "created_at", "started_at", "completed_at", "attempts", "error"],
  properties: {
    id: { type: "string" },
    object: { type: "string", enum: ["job"] },
    status: { type: "string", enum: jobStatuses },
    model: { type: "string" },
    provider: { type: "string" },
    mode: { type: "string", enum: ["sync-json", "sync-stream", "async"], description: "How its creator waited: synchronous JSON, SSE, or a job" },
    key_id: { type: "string", description: "The owner key's id (`static-…` for an API_KEYS key)" },
    user_id: { type: "string", nullable: true },
    created_at: { type: "integer", description: "Unix time in seconds" },
    started_at: { ...nullableMs, description: "Unix time in seconds" },
    completed_at: { ...nullableMs, description: "Unix time in seconds" },
    duration_ms: { ...nullableMs, description: "From creation to end, in milliseconds; null while unfinished" },
    attempts: { type: "integer" },
    error: { type: "object", nullable: true, additionalProperties: true },
  },
} as const;

const listQuery = {
  type: "object",
  additionalProperties: false,
  properties: {
    limit: { type: "string", pattern: "^[0-9]{1,3}$", description: "How many, newest first (1-200, default 50)" },
    status: { type: "string", enum: jobStatuses },
  },
} as const;

const adminJobView = (record: JobRecord) => ({
  ...toJobObject(record),
  provider: record.provider,
  mode: record.mode,
  key_id: record.owner.keyId,
  user_id: record.owner.userId,
  duration_ms: record.completedAt === null ? null : record.completedAt - record.createdAt,
});

/**
 * GET /jobs (recent jobs of every key, from the completions queue), GET /jobs/:id (one job with
 * its event log), POST /jobs/:id/cancel (through the producer, as a client's cancel).
 */
export async function adminJobRoutes(app: FastifyInstance, context: ApiContext) {
  app.get<{ Querystring: { limit?: string; status?: JobStatus } }>(
    "/jobs",
    {
      schema: {
        ...adminDocs,
        summary: "Recent jobs of every key, newest first (those BullMQ still keeps: the latest 1000 finished)",
        querystring: listQuery,
        response: { 200: listOf(adminJobSchema), ...adminErrors },
      },
    },
    async (request) => {
      const limit = Math.min(200, Math.max(1, Number(request.query.limit ?? 50)));
      const queued = await context.queue.getJobs(["active", "waiting", "delayed", "prioritized", "completed", "failed"], 0, limit - 1);
      const ids = [...new Set(queued.filter((job) => job?.data?.jobId).map((job) => job.data.jobId))];
      const records = (await context.store.getMany(ids)).filter((record): record is JobRecord => record !== null);
      const wanted = request.query.status;
      const data = records
        .filter((record) => wanted === undefined || record.status === wanted)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, limit)
        .map(adminJobView);
      return { object: "list", data };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/jobs/:id",
    {
      schema: {
        ...adminDocs,
        summary: "One job of any key, with its result and its event log (the first 500 events)",
        params: jobIdParamsSchema,
        successResponses: { 200: { description: "The admin job fields plus `result` and `events` ([{id, type, data}])" } },
        response: { 404: errorBodySchema, ...adminErrors },
      },
    },
    async (request) => {
      const record = await readJob(context, request.params.id);
      const events = await context.store.readEventsAfter(record.id, undefined, MAX_EVENTS_SHOWN);
      return { ...adminJobView(record), result: record.result, events };
    },
  );

  app.post<{ Params: { id: string } }>(
    "/jobs/:id/cancel",
    {
      schema: {
        ...adminDocs,
        summary: "Cancel a queued or running job of any key (409 when it has already ended)",
        params: jobIdParamsSchema,
        response: { 200: adminJobSchema, 404: errorBodySchema, 409: errorBodySchema, ...adminErrors },
      },
    },
    async (request) => {
      const record = await readJob(context, request.params.id);
      if (!(await context.completions.cancel(record.id))) {
        throw new GatewayError("job_already_ended", { message: `The job '${record.id}' has already ended; there is nothing to cancel.` });
      }
      return adminJobView(await readJob(context, record.id));
    },
  );
}

async function readJob(context: ApiContext, jobId: string): Promise<JobRecord> {
  const record = isJobId(jobId) ? await context.store.get(jobId) : null;
  if (!record) throw new GatewayError("job_not_found", { message: `No job with id '${jobId}'.`, param: null });
  return record;
}
