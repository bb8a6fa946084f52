import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GatewayError } from "@llmgw/errors";
import { eventDataText, usageEntry, type JobFollower } from "@llmgw/jobs";
import { clientAskedUsage, jsonTextOf, type ChatCompletion, type ChatCompletionRequest } from "@llmgw/providers";
import type { ApiContext } from "../../context.js";
import { settle } from "../../services/completion-service.js";
import { completionToChunks } from "../../services/completion-replay.js";
import type { CachePlan } from "../../services/completion-cache.js";
import { revokedKeyError } from "../../services/key-sessions.js";
import { openSse } from "../../services/sse-writer.js";
import { chatCompletionRequestSchema } from "../../schemas/chat-completion-request.js";
import {
  bodyErrors,
  clientErrors,
  completionFailureErrors,
  errorResponse,
  requestLimitError,
  requestLimitHeaders,
} from "../../schemas/error-responses.js";

/** The success answer, for the document only: it passes through as the provider wrote it, never serialized by a schema. */
const completionAnswer = {
  description: "The chat completion as JSON, or with `stream: true` its chunks as server-sent events ending with `data: [DONE]`",
  headers: {
    "x-cache": { type: "string", description: "HIT, MISS or BYPASS" },
    "x-job-id": { type: "string", description: "The job that ran the completion (absent on a cache hit)" },
    ...requestLimitHeaders,
  },
  content: {
    "application/json": { schema: { type: "object", description: "OpenAI's chat.completion object" } },
    "text/event-stream": { schema: { type: "string", description: "chat.completion.chunk objects, one per `data:` line" } },
  },
};

/** POST /chat/completions: OpenAI Chat Completions, JSON or SSE, through the cache and the job queue. */
export async function chatCompletionRoutes(app: FastifyInstance, context: ApiContext) {
  /** Cache lookups started alongside the rate-limit check. */
  const lookups = new WeakMap<FastifyRequest, Promise<CachePlan>>();
  const lookUp = (request: FastifyRequest) =>
    context.completionCache.plan(request.principal, request.body as ChatCompletionRequest, request.headers["cache-control"]);

  app.post(
    "/chat/completions",
    {
      schema: {
        body: chatCompletionRequestSchema,
        tags: ["completions"],
        summary: "Create a chat completion",
        successResponses: { 200: completionAnswer },
        response: {
          ...clientErrors,
          ...bodyErrors,
          403: errorResponse("model_not_allowed: this API key may not use the model"),
          404: errorResponse("model_not_found: no configured provider serves the model"),
          409: errorResponse("job_cancelled: the job was cancelled (POST /v1/jobs/{id}/cancel, or its key revoked) before it answered"),
          429: requestLimitError,
          ...completionFailureErrors,
        },
      },
      config: {
        rateLimit: "consume",
        whileLimiting: (request) => {
          const lookup = lookUp(request);
          lookup.catch(() => {}); // awaited by the handler; unused when the limit refuses
          lookups.set(request, lookup);
        },
      },
    },
    async (request, reply) => {
      const body = request.body as ChatCompletionRequest;
      const stream = body.stream === true;
      const { principal } = request;
      const route = context.completions.route(principal, body.model);
      // A used-up budget refuses cache hits too: the key may not be used until its budget allows.
      const [plan] = await Promise.all([lookups.get(request) ?? lookUp(request), context.budgets.check(principal)]);
      reply.header("x-cache", plan.status);
      if (plan.hit) {
        const owner = { keyId: principal.keyId, userId: principal.userId };
        const subject = { jobId: null, requestId: request.id, owner, model: body.model, provider: route.providerName, kind: "cache" as const };
        context.recordUsage(usageEntry(subject, { status: 200, usage: plan.hit.usage, latencyMs: Math.round(reply.elapsedTime), cacheHit: true }));
        if (!stream) return sendAnswer(reply, plan.hit);
        return replayAsStream(reply, plan.hit, clientAskedUsage(body));
      }

      const { jobId, follower } = await context.completions.submit(principal, body, {
        mode: stream ? "sync-stream" : "sync-json",
        requestId: request.id,
        cacheKey: plan.storeAs,
        coalesceAs: plan.coalesceAs,
      });
      reply.header("x-job-id", jobId);
      // A caller who leaves before the answer cancels the job (and so the upstream call), unless
      // identical requests still wait on it. The response's close tells; the request's may come early.
      let callerLeft = false;
      const onClose = () => {
        follower.close();
        if (reply.raw.writableFinished) return;
        callerLeft = true;
        void context.completions.abandon(jobId).catch(() => {});
      };
      reply.raw.once("close", onClose);
      const deadline = Date.now() + context.config.syncTimeoutMs;
      const endWait = context.metrics.startSyncWait(stream ? "stream" : "json");
      // A stream ends as soon as its key is revoked; a JSON waiter hears its job's cancel instead.
      let revoked = false;
      const leaveSession = stream
        ? context.keySessions.open(principal.keyId, () => {
            revoked = true;
            follower.close();
          })
        : () => {};
      try {
        if (!stream) {
          try {
            return sendAnswer(reply, await context.completions.waitForResult(jobId, follower, deadline));
          } catch (error) {
            if (!callerLeft) throw error;
            // Nobody is there to answer: not a failure of the gateway (nginx logs this as 499).
            request.log.info({ jobId }, "the caller left before the answer; its job is cancelled");
            return (reply as FastifyReply).code(499).send();
          }
        }
        await streamJob(request, reply, jobId, follower, deadline, () => revoked);
        return reply;
      } finally {
        leaveSession();
        endWait();
        if (reply.raw.writableFinished) reply.raw.off("close", onClose);
        follower.close();
      }
    },
  );
}

/** A JSON answer as the provider wrote it (its text kept through the job log and the cache), not serialised again. */
function sendAnswer(reply: FastifyReply, completion: ChatCompletion) {
  return reply.type("application/json; charset=utf-8").send(jsonTextOf(completion));
}

/** A stored answer to a streaming request, replayed as the SSE stream it would have been. */
async function replayAsStream(reply: FastifyReply, completion: ChatCompletion, withUsage: boolean) {
  reply.hijack();
  const sse = openSse(reply.raw, reply.getHeaders());
  for (const chunk of completionToChunks(completion, { withUsage })) await sse.send(chunk);
  await sse.sendRaw("data: [DONE]");
  sse.end();
  return reply;
}

/**
 * Forwards the job's chunks as SSE. The answer starts only with the first chunk, so a job that
 * fails before any text still answers with its own status and error body.
 */
async function streamJob(
  request: FastifyRequest,
  reply: FastifyReply,
  jobId: string,
  follower: JobFollower,
  deadline: number,
  revoked: () => boolean,
) {
  let event = await follower.next(deadline);
  while (event && !revoked() && event.type !== "job.chunk" && settle(event, jobId) === null) event = await follower.next(deadline);
  if (revoked()) throw revokedKeyError();
  if (!event) throw new GatewayError("sync_timeout", { jobId });
  if (event.type === "job.completed") {
    // The provider answered in one piece; replay it as the stream the caller asked for.
    await replayAsStream(reply, event.data.result, clientAskedUsage(request.body as ChatCompletionRequest));
    return;
  }

  reply.hijack();
  const sse = openSse(reply.raw, reply.getHeaders());
  let chunksSent = 0;
  // After the first chunk the worker's idle and total timeouts bound the wait, not the sync deadline.
  for (; event && !revoked(); event = await follower.next()) {
    switch (event.type) {
      case "job.chunk":
        // The chunk as the provider wrote it, unparsed on the way.
        await sse.sendRaw(`data: ${eventDataText(event)}`);
        chunksSent++;
        break;
      case "job.started":
        if (chunksSent > 0) {
          // A retry would repeat or mix text: end the stream with an error instead.
          const error = new GatewayError("upstream_error", {
            message: "The provider failed in the middle of the answer; the text so far is incomplete.",
            jobId,
          });
          await sse.send(error.toErrorBody());
          return sse.end();
        }
        break;
      case "job.completed":
        await sse.sendRaw("data: [DONE]");
        return sse.end();
      case "job.failed":
        await sse.send({ error: event.data.error });
        return sse.end();
      case "job.cancelled":
        await sse.send(new GatewayError("job_cancelled", { jobId }).toErrorBody());
        return sse.end();
    }
  }
  if (revoked()) await sse.send(revokedKeyError().toErrorBody());
  else request.log.warn({ jobId }, "event stream closed before the job ended");
  sse.end();
}
