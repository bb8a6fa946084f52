import { keepAnswerJson, keepRawJson } from "@llmgw/providers";
import type { JobEventType } from "./contract.js";
import type { JobEvent } from "./types.js";

const DATA_TEXT = Symbol("llmgw.eventDataText");

/**
 * An event as it was logged: its data stays JSON text until someone reads `data`, so a chunk
 * forwarded to a stream is never parsed and serialised again on the way (eventDataText).
 */
export function loggedEvent(id: string, type: JobEventType, text: string): JobEvent {
  let parsed: unknown;
  const event = { id, type } as JobEvent;
  Object.defineProperty(event, "data", {
    enumerable: true,
    get: () => (parsed ??= parseData(type, text)),
  });
  Object.defineProperty(event, DATA_TEXT, { value: text });
  return event;
}

const RESULT_FIELD = '{"result":';

/** The data of a job.completed event: the result's JSON text as it is, in `{"result":…}`. */
export function completedEventText(resultJson: string): string {
  return `${RESULT_FIELD}${resultJson}}`;
}

function parseData(type: JobEventType, text: string): object {
  const data = keepRawJson(JSON.parse(text) as { result?: unknown }, text);
  // A completed event's result keeps its own text too: a JSON caller gets it as the provider wrote it.
  if (type === "job.completed" && text.startsWith(RESULT_FIELD) && typeof data.result === "object" && data.result !== null) {
    keepAnswerJson(data.result, text.slice(RESULT_FIELD.length, -1));
  }
  return data;
}

/** The event's data as JSON text: as logged when it came from the log or a live message. */
export function eventDataText(event: JobEvent): string {
  return (event as { [DATA_TEXT]?: string })[DATA_TEXT] ?? JSON.stringify(event.data);
}

const ID_START = '{"id":"'.length;
const TYPE_FIELD = '","type":"';
const DATA_FIELD = '","data":';

/** A live message as append-job-events.lua writes it, `{"id":"…","type":"…","data":…}`, read without parsing its data. */
export function parseEventMessage(message: string): JobEvent {
  const typeAt = message.indexOf(TYPE_FIELD, ID_START);
  const dataAt = message.indexOf(DATA_FIELD, typeAt);
  return loggedEvent(
    message.slice(ID_START, typeAt),
    message.slice(typeAt + TYPE_FIELD.length, dataAt) as JobEventType,
    message.slice(dataAt + DATA_FIELD.length, -1),
  );
}
