import type { ServerResponse } from "node:http";
import type { JobEvent, JobEventHub, JobStore } from "@llmgw/jobs";
import { toHttpError } from "../plugins/error-handler.js";
import { isTerminalEvent, readJobLog, toEventFrame } from "./job-event-frames.js";
import { followJob } from "./job-follower.js";
import { openSse, type SseWriter } from "./sse-writer.js";

export interface JobEventStreamOptions {
  store: JobStore;
  hub: JobEventHub;
  jobId: string;
  /** Last-Event-ID: only later events are sent. */
  after: string | undefined;
  /** The job had ended when it was looked up: its log is complete. */
  finished: boolean;
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
  let follower: Awaited<ReturnType<typeof followJob>> | null = null;
  const onClose = () => follower?.close();
  raw.once("close", onClose);
  try {
    let lastId = options.after;
    for await (const page of readJobLog(options.store, jobId, options.after)) {
      for (const event of page) {
        if (sse.closed) return;
        await sendEvent(sse, jobId, event);
        lastId = event.id;
        if (isTerminalEvent(event)) return;
      }
    }
    if (options.finished || sse.closed) return;
    follower = await followJob(options.hub, jobId, { after: lastId });
    if (sse.closed) return;
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
