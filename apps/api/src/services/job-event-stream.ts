import type { ServerResponse } from "node:http";
import type { JobEvent, JobEventHub, JobFollower } from "@llmgw/jobs";
import { toHttpError } from "./http-errors.js";
import { toEventFrame } from "./job-event-frames.js";
import { openSse, type SseWriter } from "./sse-writer.js";

export interface JobEventStreamOptions {
  hub: JobEventHub;
  jobId: string;
  /** Last-Event-ID: only later events are sent. */
  after: string | undefined;
  /** A comment line this often keeps proxies from closing a quiet stream. */
  keepAliveMs?: number;
}

/** One SSE event: `id:` for resuming, `event:` the type, `data:` the same frame a WebSocket client gets. */
const sendEvent = (sse: SseWriter, jobId: string, event: JobEvent) =>
  sse.sendRaw(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(toEventFrame(jobId, event))}`);

/**
 * `GET /v1/jobs/:id/events`: the job's log after `after`, then live events, ending after the
 * final event. A finished job replays and ends; a client that leaves cancels nothing.
 */
export async function writeJobEventStream(raw: ServerResponse, headers: Record<string, string | number | string[] | undefined>, options: JobEventStreamOptions) {
  const { jobId } = options;
  const sse = openSse(raw, headers);
  const keepAlive = setInterval(() => void sse.sendRaw(": keep-alive"), options.keepAliveMs ?? 15_000);
  let follower: JobFollower | null = null;
  const onClose = () => follower?.close();
  raw.once("close", onClose);
  try {
    follower = await options.hub.followJob(jobId, { after: options.after });
    if (sse.closed) return;
    // Each write waits for the socket: a long replay is paced by the client.
    for await (const event of follower) {
      await sendEvent(sse, jobId, event);
      if (sse.closed) return;
    }
  } catch (error) {
    // The status line has gone out: the error travels as an event of its own.
    const gatewayError = toHttpError(error instanceof Error ? error : new Error(String(error)));
    await sse.sendRaw(`event: error\ndata: ${JSON.stringify({ type: "error", error: gatewayError.toErrorObject(), job_id: jobId })}`);
  } finally {
    clearInterval(keepAlive);
    raw.off("close", onClose);
    follower?.close();
    sse.end();
  }
}
