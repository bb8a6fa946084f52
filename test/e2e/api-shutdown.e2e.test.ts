import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loremWords, type GatewayStack, type MockUpstream } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// SIGTERM reaches the API while it streams an answer: the stream ends complete, then the process exits 0.
const WORDS = 30;

let stack: MockedGateway;
let mock: MockUpstream;
let gateway: GatewayStack;

beforeAll(async () => {
  stack = await startMockedGateway({ env: { RATE_LIMIT_ENABLED: "false", CACHE_ENABLED: "false" } });
  ({ mock, gateway } = stack);
});

afterAll(() => stack?.stop());

/** The `data:` payloads of SSE text, in order. */
function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .filter((event) => event.startsWith("data: "))
    .map((event) => event.slice("data: ".length));
}

describe("graceful API shutdown", () => {
  it("finishes an in-flight SSE stream and JSON call after SIGTERM, refuses new connections, and exits 0", async () => {
    // A synchronous JSON call whose upstream answers only after a second.
    const pending = stack.complete({ model: "deepseek-chat", messages: [{ role: "user", content: "Answer late [[mock:delay=1000]]" }] });
    const response = await stack.complete({
      model: "deepseek-chat",
      stream: true,
      messages: [{ role: "user", content: `Tell me slowly [[mock:words=${WORDS},chunk_delay=50]]` }],
    });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    // In flight: the first chunk has arrived, many more are still to come.
    while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
    await mock.waitForCalls(2);

    const signalledAt = Date.now();
    gateway.api.child.kill("SIGTERM");
    await gateway.api.waitForLine(/api stopping/);
    // No new connections once it is closing (the stream's own connection stays open).
    await vi.waitFor(() => expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow(), { timeout: 5000, interval: 50 });

    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const streamEndedAt = Date.now();
    const late = await pending;
    expect(late.status).toBe(200);
    expect(((await late.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content).toBe(
      "Echo: Answer late [[mock:delay=1000]]",
    );
    const events = sseData(text);
    expect(events.at(-1)).toBe("[DONE]");
    const content = events
      .slice(0, -1)
      .map((data) => (JSON.parse(data) as { choices: { delta?: { content?: string | null } }[] }).choices[0]?.delta?.content ?? "")
      .join("");
    expect(content).toBe(loremWords(WORDS));
    // The stream really was cut in the middle by the signal, not already over.
    expect(streamEndedAt - signalledAt).toBeGreaterThan(200);

    expect(await gateway.api.exited).toBe(0);
    // Promptly: the stream's keep-alive connection does not hold the exit open once it is idle.
    expect(Date.now() - streamEndedAt).toBeLessThan(2000);
    expect(gateway.api.lines.some((line) => line.includes('"msg":"api stopped"'))).toBe(true);
  });
});
