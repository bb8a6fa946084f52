import { createHash } from "node:crypto";
import type { MockDirectives } from "./mock-directives.js";

/** The part of a chat completion request the mock reads. */
export interface MockRequest {
  model: string;
  messages: unknown[];
  tools?: unknown;
  stream?: unknown;
  stream_options?: unknown;
  [parameter: string]: unknown;
}

type Json = Record<string, unknown>;

/** One request's deterministic answer, as a JSON completion and as the stream's events. */
export interface MockAnswer {
  completion: Json;
  /**
   * The JSON text of each stream chunk, up to the one with the finish_reason, then the
   * `choices: []` usage chunk when `includeUsage` (other chunks then carry `usage: null`, as OpenAI's do).
   */
  streamEvents(includeUsage: boolean): string[];
  /** Seed for the stream's odd write boundaries. */
  seed: number;
}

export const MOCK_FINGERPRINT = "fp_mock_upstream";
export const MOCK_TOOL_ARGUMENTS = '{"city":"Paris"}';
const LOREM = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua".split(" ");
const REASONING = "Let me think about this request.";

/** The text of the last user message (string content, or its text parts joined with "\n"). */
export function lastUserText(messages: unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown } | null;
    if (message?.role === "user") return messageText(message.content);
  }
  return "";
}

/** `n` lorem-style words, the same for the same `n`. */
export function loremWords(n: number): string {
  return Array.from({ length: n }, (_, i) => LOREM[i % LOREM.length]).join(" ");
}

/** The completion text the mock answers a request with. */
export function answerText(request: MockRequest, directives: MockDirectives): string {
  return directives.words !== undefined ? loremWords(directives.words) : `Echo: ${lastUserText(request.messages)}`;
}

/**
 * Builds the answer from the request alone (stream flags aside), so a JSON call and a
 * streaming call of the same request carry the same id, created, text and usage.
 */
export function buildAnswer(request: MockRequest, directives: MockDirectives): MockAnswer {
  const { stream: _stream, stream_options: _options, ...identity } = request;
  const hash = createHash("sha256").update(JSON.stringify(identity)).digest("hex");
  const id = `chatcmpl-${hash.slice(0, 24)}`;
  const created = 1_700_000_000 + (parseInt(hash.slice(24, 31), 16) % 100_000_000);
  const seed = parseInt(hash.slice(0, 8), 16);
  const tools = Array.isArray(request.tools) ? request.tools : [];
  const toolName = (tools[0] as { function?: { name?: unknown } } | undefined)?.function?.name;
  const call = typeof toolName === "string" && directives.tool ? { id: `call_${hash.slice(32, 56)}`, type: "function", name: toolName } : null;
  const text = answerText(request, directives);
  const reasoning = directives.reasoning ? REASONING : undefined;

  const promptTokens = request.messages.reduce<number>((sum, message) => sum + countWords(messageText((message as Json)?.content)), 0);
  const completionTokens = countWords(call ? MOCK_TOOL_ARGUMENTS : text) + (reasoning ? countWords(reasoning) : 0);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  const finishReason = call ? "tool_calls" : "stop";
  const message: Json = call
    ? { role: "assistant", content: null, tool_calls: [{ id: call.id, type: call.type, function: { name: call.name, arguments: MOCK_TOOL_ARGUMENTS } }] }
    : reasoning
      ? { role: "assistant", content: text, reasoning_content: reasoning }
      : { role: "assistant", content: text };
  const completion = {
    id,
    object: "chat.completion",
    created,
    model: request.model,
    system_fingerprint: MOCK_FINGERPRINT,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
    usage,
  };

  function streamEvents(includeUsage: boolean): string[] {
    // Written as text, not objects: the mock is also the benchmarks' upstream.
    const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(request.model)},"system_fingerprint":"${MOCK_FINGERPRINT}","choices":`;
    const tail = includeUsage ? ',"usage":null}' : "}";
    const chunk = (delta: unknown, finish = "null") => `${head}[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish}}]${tail}`;
    const random = seededRandom(seed);
    const events: string[] = [];
    if (call) {
      const opening = { index: 0, id: call.id, type: call.type, function: { name: call.name, arguments: "" } };
      events.push(chunk({ role: "assistant", content: null, tool_calls: [opening] }));
      for (const fragment of ['{"', "city", '":"', "Paris", '"}']) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }));
    } else if (reasoning) {
      events.push(chunk({ role: "assistant", content: null, reasoning_content: "" }));
      for (const piece of splitText(reasoning, random)) events.push(chunk({ content: null, reasoning_content: piece }));
      for (const piece of splitText(text, random)) events.push(chunk({ content: piece, reasoning_content: null }));
    } else {
      events.push(chunk({ role: "assistant", content: "" }));
      for (const piece of splitText(text, random)) events.push(chunk({ content: piece }));
    }
    events.push(chunk({}, `"${finishReason}"`));
    if (includeUsage) events.push(`${head}[],"usage":${JSON.stringify(usage)}}`);
    return events;
  }

  return { completion, streamEvents, seed };
}

/** Pieces of 1 to 6 code points (never half a surrogate pair), roughly a token each. */
function splitText(text: string, random: () => number): string[] {
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; ) {
    const size = 1 + Math.floor(random() * 6);
    pieces.push(points.slice(i, i + size).join(""));
    i += size;
  }
  return pieces;
}

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((part): part is { type: "text"; text: string } => part?.type === "text" && typeof part.text === "string")
    .map((part) => part.text)
    .join("\n");
}

function countWords(text: string): number {
  return text.split(/\s+/).filter((word) => word !== "").length;
}

/** mulberry32: a small, fast, seeded generator; the same seed gives the same boundaries. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
