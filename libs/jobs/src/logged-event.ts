import { keepRawJson } from "@llmgw/providers";
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
    get: () => (parsed ??= keepRawJson(JSON.parse(text) as object, text)),
  });
  Object.defineProperty(event, DATA_TEXT, { value: text });
  return event;
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
