import type { ServerResponse } from "node:http";
import { seededRandom } from "./mock-text.js";

export interface StreamPlan {
  /** JSON text of each chunk, in order ([DONE] is added here). */
  events: string[];
  seed: number;
  chunkDelayMs: number;
  /** Stop after this many chunks: hang, drop the socket, or send an error event and end. */
  hangAfter?: number;
  /** Stop after this many chunks and send only `: keep-alive` comments, every 100 ms, until the client leaves. */
  keepaliveAfter?: number;
  dropAfter?: number;
  errorAfter?: number;
  errorEvent: string;
  /** Receives each `data:` payload as it is written (not `[DONE]`): the record of what was sent. */
  sent?: string[];
}

export interface StreamControl {
  closed(): boolean;
  /** Resolves after `ms`, or early when the client goes away. */
  sleep(ms: number): Promise<void>;
  /** Resolves only when the client goes away. */
  hang(): Promise<void>;
  /** Closes the socket mid-answer, once what was written has left (not counted as a client abort). */
  drop(): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Writes an SSE answer the way real upstreams stress parsers: each event is cut at a random
 * byte (mid-line, mid-UTF-8 sequence) and its tail held back to the next event's write, one
 * event per event-loop turn, with DeepSeek-style `: keep-alive` comments and extra blank lines.
 * Before any timed pause (chunk delay, hang, drop) everything written so far is flushed, so
 * a client has whole chunks while it waits.
 */
export async function writeSseStream(res: ServerResponse, plan: StreamPlan, control: StreamControl): Promise<void> {
  const random = seededRandom(plan.seed ^ 0x9e3779b9);
  let carry = EMPTY;
  const flush = () => {
    if (carry.length > 0) res.write(carry);
    carry = EMPTY;
  };
  const send = (text: string) => {
    const bytes = carry.length > 0 ? Buffer.concat([carry, Buffer.from(text)]) : Buffer.from(text);
    const cut = 1 + Math.floor(random() * (bytes.length - 1));
    res.write(bytes.subarray(0, cut));
    carry = bytes.subarray(cut);
  };

  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  send(": keep-alive\n\n");
  const stops = [plan.hangAfter, plan.keepaliveAfter, plan.dropAfter, plan.errorAfter].filter((n): n is number => n !== undefined);
  const stopAt = Math.min(plan.events.length, ...stops);
  for (let i = 0; i < stopAt; i++) {
    if (control.closed()) return;
    const roll = random();
    const decoration = roll < 0.15 ? ": keep-alive\n\n" : roll < 0.3 ? "\n" : "";
    send(`${decoration}data: ${plan.events[i]}\n\n`);
    plan.sent?.push(plan.events[i]);
    if (plan.chunkDelayMs > 0) {
      flush();
      await control.sleep(plan.chunkDelayMs);
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  if (control.closed()) return;
  if (plan.errorAfter === stopAt) {
    send(`data: ${plan.errorEvent}\n\n`);
    plan.sent?.push(plan.errorEvent);
    flush();
    res.end();
  } else if (plan.keepaliveAfter === stopAt) {
    flush();
    while (!control.closed()) {
      res.write(": keep-alive\n\n");
      await control.sleep(100);
    }
  } else if (plan.hangAfter === stopAt) {
    flush();
    await control.hang();
  } else if (plan.dropAfter === stopAt) {
    flush();
    control.drop();
  } else {
    send("data: [DONE]\n\n");
    flush();
    res.end();
  }
}
