import type { ServerResponse } from "node:http";
import { terminalEventTypes, type JobEvent, type JobEventHub, type JobFollower } from "@llmgw/jobs";
import { toHttpError } from "./http-errors.js";
import { revokedKeyError } from "./key-sessions.js";
import { toEventFrame } from "./job-event-frames.js";
import { openSse, type SseWriter } from "./sse-writer.js";

export interface JobEventStreamOptions {
  hub: JobEventHub;
  jobId: string;
  /** Last-Event-ID: only later events are sent. */
  after: string | undefined;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  keepAliveMs?: number;
  /** Registers the stream under its key (KeySessions.open); `end` is called when the key is revoked. */
  openSession?: (end: () => void) => () => void;
  /** The stream's lifetime (EVENT_STREAM_MAX_MS): it then ends with a `reconnect` event. */
  maxLifetimeMs?: number;
}

/** One SSE event: `id:` for resuming, `event:` the type, `data:` the same frame a WebSocket client gets. */
const sendEvent = (sse: SseWriter, jobId: string, event: JobEvent) =>
  sse.sendRaw(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(toEventFrame(jobId, event))}`);

/** The end of a stream past its lifetime; no `id:` line, so EventSource keeps its Last-Event-ID and resumes from it. */
function sendReconnect(sse: SseWriter, jobId: string, lastEventId: string | null) {
  const message = "This stream reached its lifetime (EVENT_STREAM_MAX_MS): reconnect with Last-Event-ID to resume.";
  const frame = { type: "reconnect", job_id: jobId, last_event_id: lastEventId, message };
  return sse.sendRaw(`event: reconnect\ndata: ${JSON.stringify(frame)}\n: stream lifetime reached; resume with Last-Event-ID`);
}

/**
 * `GET /v1/jobs/:id/events`: the job's log after `after`, then live events, ending after the
 * final event. A finished job replays and ends; a client that leaves cancels nothing. A stream
 * that outlives `maxLifetimeMs` ends with a `reconnect` event naming the last event id, so no
 * connection (and its slot of the key's stream cap) is held forever by a job that never ends.
 */
export async function writeJobEventStream(raw: ServerResponse, headers: Record<string, string | number | string[] | undefined>, options: JobEventStreamOptions) {
  const { jobId } = options;
  const sse = openSse(raw, headers);
  const keepAlive = setInterval(() => void sse.sendRaw(": keep-alive"), options.keepAliveMs ?? 15_000);
  let follower: JobFollower | null = null;
  let revoked = false;
  const onClose = () => follower?.close();
  raw.once("close", onClose);
  const leaveSession = options.openSession?.(() => {
    revoked = true;
    follower?.close();
  });
  let expired = false;
  let lastEventId = options.after ?? null;
  let ended = false;
  const lifetime =
    options.maxLifetimeMs === undefined
      ? undefined
      : setTimeout(() => {
          expired = true;
          follower?.close();
        }, options.maxLifetimeMs);
  try {
    follower = await options.hub.followJob(jobId, { after: options.after });
    if (sse.closed) return;
    if (revoked) throw revokedKeyError();
    if (expired) follower.close();
    // Each write waits for the socket: a long replay is paced by the client.
    for await (const event of follower) {
      if (revoked) break;
      await sendEvent(sse, jobId, event);
      lastEventId = event.id;
      ended = terminalEventTypes.includes(event.type);
      if (sse.closed) return;
    }
    if (revoked) throw revokedKeyError();
    if (expired && !ended) await sendReconnect(sse, jobId, lastEventId);
  } catch (error) {
    // The status line has gone out: the error travels as an event of its own.
    const gatewayError = toHttpError(error instanceof Error ? error : new Error(String(error)));
    await sse.sendRaw(`event: error\ndata: ${JSON.stringify({ type: "error", error: gatewayError.toErrorObject(), job_id: jobId })}`);
  } finally {
    clearInterval(keepAlive);
    clearTimeout(lifetime);
    leaveSession?.();
    raw.off("close", onClose);
    follower?.close();
    sse.end();
  }
}
