import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonTextOf, parseSseJson, ProviderError, readSsePayloads, type SseJsonOptions } from "@llmgw/providers";

const encoder = new TextEncoder();

async function* bytesOf(parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === "string" ? encoder.encode(part) : part;
}

/** Every payload of the stream, up to [DONE] (readSsePayloads gives them a batch per read). */
async function payloadsOf(stream: AsyncIterable<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of readSsePayloads(stream)) out.push(...batch);
  return out;
}

/** The stream's payloads through parseSseJson, as the adapter reads them: the values before a failure, and the failure. */
async function valuesOf(stream: AsyncIterable<Uint8Array>, options: SseJsonOptions): Promise<{ values: unknown[]; failure: unknown }> {
  const values: unknown[] = [];
  try {
    for (const payload of await payloadsOf(stream)) {
      const value = parseSseJson(payload, options);
      if (value !== undefined) values.push(value);
    }
  } catch (failure) {
    return { values, failure };
  }
  return { values, failure: undefined };
}

/** Cuts a byte array at the given positions (any byte, so mid-UTF-8 sequences too). */
function cutAt(bytes: Uint8Array, positions: number[]): Uint8Array[] {
  const cuts = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > start) parts.push(bytes.subarray(start, cut));
    start = Math.max(start, cut);
  }
  return parts;
}

describe("readSsePayloads", () => {
  it("yields data payloads, skipping comments, blank lines and other fields, and stops at [DONE]", async () => {
    const stream = bytesOf([
      ": keep-alive\n\n\n",
      "event: message\nid: 1\nretry: 10\ndata: {\"a\":1}\n\n",
      ": keep-alive\n\n",
      "data:no-space\n\n",
      "data: [DONE]\n\n",
      "data: after done\n\n",
    ]);
    expect(await payloadsOf(stream)).toEqual(['{"a":1}', "no-space"]);
  });

  it("joins multi-line data with \\n and keeps a second leading space", async () => {
    const stream = bytesOf(["data: line one\ndata:  line two\ndata\n\n"]);
    expect(await payloadsOf(stream)).toEqual(["line one\n line two\n"]);
  });

  it("reads CRLF and CR line ends, even a CRLF split between two chunks", async () => {
    const stream = bytesOf(["data: a\r", "\ndata: b\r", "\n\r", "\ndata: c\r\rdata: d\r\n", "\r\n"]);
    expect(await payloadsOf(stream)).toEqual(["a\nb", "c", "d"]);
  });

  it("decodes UTF-8 sequences split across chunks", async () => {
    const bytes = encoder.encode("data: 你好 🌍\n\n");
    const parts = Array.from(bytes, (byte) => Uint8Array.of(byte));
    expect(await payloadsOf(bytesOf(parts))).toEqual(["你好 🌍"]);
  });

  it("delivers a last event that lacks its closing blank line, and nothing for an empty stream", async () => {
    expect(await payloadsOf(bytesOf(["data: x\n\ndata: tail"]))).toEqual(["x", "tail"]);
    expect(await payloadsOf(bytesOf([]))).toEqual([]);
  });

  it("gives the same payloads however the byte stream is cut (property)", async () => {
    const lineText = fc.string({ unit: "grapheme", maxLength: 12 }).map((text) => text.replace(/[\r\n]/g, " "));
    const payload = fc
      .array(lineText, { minLength: 1, maxLength: 3 })
      .filter((lines) => lines.join("\n") !== "[DONE]");
    const event = fc.record({
      lines: payload,
      comment: fc.option(lineText),
      extraBlankLines: fc.integer({ min: 0, max: 2 }),
      otherField: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { maxLength: 8 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.boolean(),
        async (events, eol, cuts, withDone) => {
          let text = "";
          for (const e of events) {
            if (e.comment !== null) text += `:${e.comment}${eol}`;
            if (e.otherField) text += `event: chunk${eol}`;
            for (const line of e.lines) text += `data: ${line}${eol}`;
            text += eol.repeat(1 + e.extraBlankLines);
          }
          if (withDone) text += `data: [DONE]${eol}${eol}data: ignored${eol}${eol}`;
          const parts = cutAt(encoder.encode(text), cuts);
          const payloads = await payloadsOf(bytesOf(parts));
          expect(payloads).toEqual(events.map((e) => e.lines.join("\n")));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("parseSseJson over a stream", () => {
  it("keeps each value's text as it came, to forward it unchanged; not a text split over lines", async () => {
    const spaced = '{"id": "c1", "n": 1.50, "s": "\\u00e9"}';
    const { values } = await valuesOf(bytesOf([`data: ${spaced}\n\n`, 'data: {"a":\ndata: 1}\n\n']), { provider: "p" });
    expect(values).toEqual([{ id: "c1", n: 1.5, s: "\u00e9" }, { a: 1 }]);
    expect(jsonTextOf(values[0])).toBe(spaced);
    expect(JSON.stringify(values[0])).not.toBe(spaced);
    expect(jsonTextOf(values[1])).toBe('{"a":1}');
  });

  it("parses each payload as JSON", async () => {
    const stream = bytesOf(['data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n']);
    expect((await valuesOf(stream, { provider: "p" })).values).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it("turns an error payload in the middle of a stream into a retryable ProviderError", async () => {
    const stream = bytesOf([
      'data: {"n":1}\n\n',
      'data: {"error":{"message":"overloaded","type":"server_error","param":null,"code":"busy"}}\n\n',
    ]);
    const { values: seen, failure } = await valuesOf(stream, { provider: "p" });
    expect(seen).toEqual([{ n: 1 }]);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({
      provider: "p",
      status: undefined,
      retryable: true,
      message: "p sent an error: overloaded",
      detail: { message: "overloaded", type: "server_error", param: null, code: "busy" },
    });
  });

  it("reads an HTTP-like status in an error payload's code, and masks secrets", async () => {
    const stream = bytesOf(['data: {"error":{"message":"bad key sk-secret-1234","code":401}}\n\n']);
    const { failure } = await valuesOf(stream, { provider: "p", secrets: ["sk-secret-1234"] });
    expect(failure).toMatchObject({ retryable: false, detail: { message: "bad key [REDACTED]", code: "401" } });
  });

  it("rejects a payload that is not JSON", async () => {
    const { failure } = await valuesOf(bytesOf(["data: {oops\n\n"]), { provider: "p" });
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ retryable: true, message: "p sent a malformed answer: an event is not valid JSON" });
  });
});
