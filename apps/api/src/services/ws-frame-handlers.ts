import type { RawData } from "ws";
import { GatewayError } from "@llmgw/errors";
import { isEventId } from "@llmgw/jobs";
import type { Principal } from "./client-auth.js";
import type { JobService } from "./job-service.js";
import type { RateLimiter } from "./rate-limiter.js";
import { readLimitError, type ReadLimiter } from "./read-limiter.js";
import { ackFrame, type FrameRefs, type WsConnection, type WsOutbound } from "./ws-connection.js";
import { AUTHENTICATE_FIRST, type WsConnectionAuthStep } from "./ws-connection-auth.js";
import type { WsConnectionSubscriptions } from "./ws-connection-subscriptions.js";
import { parseClientFrame, type ClientFrame } from "./ws-frames.js";

export interface WsFrameHandlersDeps {
  jobs: JobService;
  /** Consumes one request of the key's limits per `create` frame; null when limits are off. */
  limiter: RateLimiter | null;
  /** Consumes one read per subscribe, unsubscribe and cancel frame; null when limits are off. */
  reads?: ReadLimiter | null;
  outbound: WsOutbound;
  auth: WsConnectionAuthStep;
  subscriptions: WsConnectionSubscriptions;
  /** Frames of one connection received but not yet handled; above this the socket is not read until they are. */
  maxPendingFrames: number;
}

type CreateFrame = Extract<ClientFrame, { type: "create" }>;

/**
 * What a client's frames do: each is queued behind the connection's previous ones, parsed, and
 * answered with an ack, a `job.created` or an error frame that echoes its refs. Limits and the
 * key are checked per frame, as an HTTP request would be.
 */
export function createWsFrameHandlers(deps: WsFrameHandlersDeps) {
  const { outbound, auth, subscriptions } = deps;

  async function handleFrame(connection: WsConnection, frame: ClientFrame) {
    const refs: FrameRefs = { clientRef: frame.client_ref, jobId: "job_id" in frame ? frame.job_id : undefined };
    if (frame.type === "auth") return auth.authenticateByFrame(connection, frame.api_key, refs);
    if (connection.principal === null) return outbound.closeUnauthenticated(connection, AUTHENTICATE_FIRST);
    const principal = await auth.currentPrincipal(connection);
    if (!principal) return;
    if (frame.type !== "create" && deps.reads) {
      const read = await deps.reads.consume(principal.keyId);
      if (!read.allowed) throw readLimitError(read);
    }
    switch (frame.type) {
      case "create":
        return create(connection, principal, frame, refs);
      case "subscribe": {
        if (frame.after !== undefined && !isEventId(frame.after)) {
          throw new GatewayError("invalid_request", { message: "Invalid value for 'after': an event id such as 1764201600000-0.", param: "after" });
        }
        await deps.jobs.owned(principal, frame.job_id);
        if (subscriptions.atCap(connection, frame.job_id)) {
          throw new GatewayError("invalid_request", { message: `At most ${subscriptions.max} subscriptions per connection.` });
        }
        subscriptions.subscribe(connection, frame.job_id, frame.after);
        return;
      }
      case "unsubscribe":
        subscriptions.unsubscribe(connection, frame.job_id);
        outbound.send(connection, ackFrame("unsubscribe", refs));
        return;
      case "cancel":
        await deps.jobs.cancel(principal, frame.job_id);
        outbound.send(connection, ackFrame("cancel", refs));
        return;
    }
  }

  async function create(connection: WsConnection, principal: Principal, frame: CreateFrame, refs: FrameRefs) {
    if (deps.limiter) {
      const decision = await deps.limiter.check(principal.keyId, { perMinute: principal.rateLimitPerMinute, perHour: principal.rateLimitPerHour });
      if (!decision.allowed) {
        throw new GatewayError("rate_limit_exceeded", {
          message: `Rate limit reached: ${decision.limit} requests per ${decision.window} for this API key. Try again in ${decision.retryAfterSeconds ?? 1} s.`,
        });
      }
    }
    const { request, webhook, metadata } = frame;
    const { job } = await deps.jobs.submit(
      principal,
      { request, ...(webhook !== undefined ? { webhook } : {}), ...(metadata !== undefined ? { metadata } : {}) },
      { requestId: connection.requestId },
    );
    outbound.send(connection, { type: "job.created", job_id: job.id, client_ref: refs.clientRef ?? null });
    if (subscriptions.atCap(connection, job.id)) {
      // The job stands; only the automatic subscription is refused, and said so (never silently past the cap).
      const message = `Subscription limit reached: at most ${subscriptions.max} subscriptions per connection. Job ${job.id} was created but this connection is not subscribed to it: unsubscribe from another job, then subscribe to it.`;
      return outbound.sendError(connection, new GatewayError("invalid_request", { message }), { jobId: job.id, clientRef: refs.clientRef });
    }
    subscriptions.subscribe(connection, job.id, undefined);
  }

  /** Takes one frame off the socket; it is handled once the connection's earlier frames are. */
  function receive(connection: WsConnection, data: RawData, isBinary: boolean) {
    connection.alive = true;
    if (connection.closed) return;
    // Nothing but a small auth frame is worth reading from a connection without a key.
    if (auth.refuseOversizedFrame(connection, data)) return;
    // Backpressure instead of refusal: a client that sends faster than its frames are handled waits in TCP.
    if (++connection.pendingFrames >= deps.maxPendingFrames) connection.socket.pause();
    connection.work = connection.work.then(async () => {
      const parsed = parseClientFrame(data, isBinary);
      try {
        // A connection without a key gets one chance: its first frame is a valid auth frame, or it is closed.
        if (!parsed.ok) {
          return connection.principal === null ? outbound.closeUnauthenticated(connection, AUTHENTICATE_FIRST) : outbound.sendError(connection, parsed.error, parsed);
        }
        if (!connection.closed) await handleFrame(connection, parsed.frame);
      } catch (error) {
        const frame = parsed.ok ? parsed.frame : null;
        outbound.sendError(connection, error, { clientRef: frame?.client_ref, jobId: frame && "job_id" in frame ? frame.job_id : undefined });
      } finally {
        if (--connection.pendingFrames < deps.maxPendingFrames) connection.socket.resume();
      }
    });
  }

  return { receive };
}
