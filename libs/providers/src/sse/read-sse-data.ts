/** The payload that ends an OpenAI-style stream. */
const DONE_PAYLOAD = "[DONE]";

/**
 * The `data:` payloads of server-sent events, fed bytes as they arrive. Follows the SSE rules that
 * upstreams actually exercise: bytes split anywhere (mid-line, mid-UTF-8 sequence), LF, CRLF or CR
 * line ends, comment lines (`: keep-alive`), extra blank lines, multi-line data joined with "\n",
 * other fields ignored.
 */
function createSseDataParser() {
  const decoder = new TextDecoder("utf-8");
  const event = { lines: [] as string[] };
  let buffer = "";
  // Where to look for the next line end; lines are cut from `buffer` only once complete.
  let scanFrom = 0;

  return {
    /** The payloads that these bytes complete, in order (`[DONE]` included: the caller stops there). */
    push(bytes: Uint8Array): string[] {
      const payloads: string[] = [];
      buffer += decoder.decode(bytes, { stream: true });
      let lineStart = 0;
      for (;;) {
        const end = findLineEnd(buffer, Math.max(scanFrom, lineStart));
        if (end === -1) break;
        // A CR as the very last character may be the first half of a CRLF: wait for more bytes.
        if (buffer.charCodeAt(end) === 13 && end === buffer.length - 1) break;
        const line = buffer.slice(lineStart, end);
        lineStart = buffer.charCodeAt(end) === 13 && buffer.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
        const payload = takeLine(line, event);
        if (payload !== undefined) payloads.push(payload);
      }
      buffer = buffer.slice(lineStart);
      scanFrom = Math.max(0, buffer.length - 1);
      if (buffer.length > 0 && buffer.charCodeAt(buffer.length - 1) !== 13) scanFrom = buffer.length;
      return payloads;
    },
    /** What the stream's end completes: a last event without its closing blank line is still delivered. */
    end(): string[] {
      const payloads: string[] = [];
      buffer += decoder.decode();
      for (const line of buffer.split(/\r\n|\r|\n/)) {
        const payload = takeLine(line, event);
        if (payload !== undefined) payloads.push(payload);
      }
      const last = takeLine("", event);
      if (last !== undefined) payloads.push(last);
      buffer = "";
      return payloads;
    },
  };
}

/**
 * The `data:` payloads of a byte stream, a batch per read (those the read completes), until `[DONE]`:
 * the payloads before it come, and the stream is not read any further (an upstream may hold its
 * response open after it). A batch per read, not a generator step per event: a worker relays
 * thousands of events a second.
 */
export async function* readSsePayloads(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string[], void, undefined> {
  const parser = createSseDataParser();
  for await (const bytes of stream) {
    const { payloads, done } = untilDone(parser.push(bytes));
    if (payloads.length > 0) yield payloads;
    if (done) return;
  }
  const { payloads } = untilDone(parser.end());
  if (payloads.length > 0) yield payloads;
}

function untilDone(payloads: string[]): { payloads: string[]; done: boolean } {
  const at = payloads.indexOf(DONE_PAYLOAD);
  return at === -1 ? { payloads, done: false } : { payloads: payloads.slice(0, at), done: true };
}

/** Feeds one line into the event being built; returns its data when the line ends the event. */
function takeLine(line: string, event: { lines: string[] }): string | undefined {
  if (line === "") {
    if (event.lines.length === 0) return undefined;
    const data = event.lines.join("\n");
    event.lines = [];
    return data;
  }
  if (line.charCodeAt(0) === 58 /* ":" comment */) return undefined;
  const colon = line.indexOf(":");
  const field = colon === -1 ? line : line.slice(0, colon);
  if (field !== "data") return undefined;
  let value = colon === -1 ? "" : line.slice(colon + 1);
  if (value.charCodeAt(0) === 32) value = value.slice(1);
  event.lines.push(value);
  return undefined;
}

function findLineEnd(text: string, from: number): number {
  const lf = text.indexOf("\n", from);
  const cr = text.indexOf("\r", from);
  if (cr === -1) return lf;
  if (lf === -1) return cr;
  return Math.min(cr, lf);
}
