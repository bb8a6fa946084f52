import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { openSse } from "../src/services/sse-writer.js";

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** Serves one SSE answer written by `write`, and reads it whole over real HTTP. */
async function served(write: (sse: ReturnType<typeof openSse>) => Promise<void>): Promise<string> {
  server = createServer((_request, response) => void write(openSse(response, {})));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return response.text();
}

describe("openSse", () => {
  it("sends the events written in the tick that ends the stream (Node 24 drops what a corked response holds at its end)", async () => {
    const text = await served(async (sse) => {
      await sse.sendRaw("data: first");
      await new Promise((resolve) => setImmediate(resolve));
      // The end of a job: its last chunk, the usage chunk and [DONE] arrive together and the stream ends.
      await sse.send({ n: 1 });
      await sse.send({ usage: { total_tokens: 3 } });
      await sse.sendRaw("data: [DONE]");
      sse.end();
    });
    expect(text).toBe('data: first\n\ndata: {"n":1}\n\ndata: {"usage":{"total_tokens":3}}\n\ndata: [DONE]\n\n');
  });

  it("ends a stream whose events all left in an earlier tick", async () => {
    const text = await served(async (sse) => {
      await sse.send({ n: 1 }, "7");
      await new Promise((resolve) => setImmediate(resolve));
      sse.end();
    });
    expect(text).toBe('id: 7\ndata: {"n":1}\n\n');
  });
});
