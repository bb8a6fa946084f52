import { terminalEventTypes, type JobEvent, type JobEventType, type JobStore } from "@llmgw/jobs";

/** One job event as WebSocket frames and SSE `data:` lines carry it (CONTRACT section 6). */
export interface JobEventFrame {
  type: JobEventType;
  job_id: string;
  event_id: string;
  data: unknown;
}

export function toEventFrame(jobId: string, event: JobEvent): JobEventFrame {
  return { type: event.type, job_id: jobId, event_id: event.id, data: event.data };
}

export const isTerminalEvent = (event: JobEvent) => terminalEventTypes.includes(event.type);

const PAGE_SIZE = 500;

/**
 * The job's log after `after`, page by page, so a reader can pace a long replay by its client
 * instead of buffering all of it. Stops after the page holding the terminal event, or at the
 * end of what is written so far.
 */
export async function* readJobLog(store: JobStore, jobId: string, after?: string): AsyncGenerator<JobEvent[]> {
  let lastId = after;
  for (;;) {
    const page = await store.readEventsAfter(jobId, lastId, PAGE_SIZE);
    if (page.length === 0) return;
    yield page;
    if (page.some(isTerminalEvent) || page.length < PAGE_SIZE) return;
    lastId = page[page.length - 1].id;
  }
}
