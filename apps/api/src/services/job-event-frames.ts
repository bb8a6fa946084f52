import type { JobEvent, JobEventType } from "@llmgw/jobs";

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
