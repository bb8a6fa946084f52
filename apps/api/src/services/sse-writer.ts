import type { ServerResponse } from "node:http";
import { once } from "node:events";

export interface SseWriter {
  /** Writes one `data:` event (with an `id:` line when given); waits while the client is slow. */
  send(data: unknown, id?: string): Promise<void>;
  /** Writes a raw line such as `data: [DONE]`. */
  sendRaw(text: string): Promise<void>;
  end(): void;
  readonly closed: boolean;
}

/** Starts a `text/event-stream` answer on the raw response, with the headers gathered so far. */
export function openSse(raw: ServerResponse, headers: Record<string, string | number | string[] | undefined>): SseWriter {
  raw.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    // Tell reverse proxies (nginx) not to buffer the stream.
    "x-accel-buffering": "no",
  });
  raw.flushHeaders();

  // Events written in the same tick (chunks that arrived together) leave in one system call.
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    raw.uncork();
  };
  const write = async (text: string) => {
    if (raw.destroyed || raw.writableEnded) return;
    if (!corked) {
      corked = true;
      raw.cork();
      process.nextTick(uncork);
    }
    if (!raw.write(text)) await Promise.race([once(raw, "drain"), once(raw, "close")]);
  };

  return {
    send: (data, id) => write(`${id ? `id: ${id}\n` : ""}data: ${JSON.stringify(data)}\n\n`),
    sendRaw: (text) => write(`${text}\n\n`),
    end: () => {
      // Node 24 drops what a corked response still holds when it ends (20 sends it): the last
      // events, written in the tick that ends the stream (the usage chunk, [DONE]), go out first.
      uncork();
      if (!raw.writableEnded) raw.end();
    },
    get closed() {
      return raw.destroyed || raw.writableEnded;
    },
  };
}
