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

/** One request's deterministic answer, as a JSON completion and as the stream's chunks. */
export interface MockAnswer {
  completion: Json;
  /** Every chunk up to and including the one with the finish_reason. */
  chunks: Json[];
  /** The `choices: []` chunk sent when `stream_options.include_usage` is true. */
  usageChunk: Json;
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
export function buildAnswer(request: MockRequest, directives: MockDirectives, includeUsageNulls: boolean): MockAnswer {
  const { stream: _stream, stream_options: _options, ...identity } = request;
  const hash = createHash("sha256").update(JSON.stringify(identity)).digest("hex");
  const id = `chatcmpl-${hash.slice(0, 24)}`;
  const created = 1_700_000_000 + (parseInt(hash.slice(24, 31), 16) % 100_000_000);
  const head = (object: string) => ({ id, object, created, model: request.model, system_fingerprint: MOCK_FINGERPRINT });
  const seed = parseInt(hash.slice(0, 8), 16);
  const random = seededRandom(seed);
  const tools = Array.isArray(request.tools) ? request.tools : [];
  const toolName = (tools[0] as { function?: { name?: unknown } } | undefined)?.function?.name;
  const callsTool = directives.tool === true && typeof toolName === "string";
  const text = answerText(request, directives);
  const reasoning = directives.reasoning ? REASONING : undefined;

  const promptTokens = request.messages.reduce<number>((sum, message) => sum + countWords(messageText((message as Json)?.content)), 0);
  const completionTokens = countWords(callsTool ? MOCK_TOOL_ARGUMENTS : text) + (reasoning ? countWords(reasoning) : 0);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };

  const chunk = (delta: Json, finishReason: string | null = null): Json => ({
    ...head("chat.completion.chunk"),
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsageNulls ? { usage: null } : {}),
  });
  let message: Json;
  let finishReason: string;
  const chunks: Json[] = [];

  if (callsTool) {
    const call = { id: `call_${hash.slice(32, 56)}`, type: "function" };
    message = { role: "assistant", content: null, tool_calls: [{ ...call, function: { name: toolName, arguments: MOCK_TOOL_ARGUMENTS } }] };
    finishReason = "tool_calls";
    chunks.push(chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, ...call, function: { name: toolName, arguments: "" } }] }));
    for (const fragment of ['{"', "city", '":"', "Paris", '"}']) {
      chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }));
    }
  } else if (reasoning) {
    message = { role: "assistant", content: text, reasoning_content: reasoning };
    finishReason = "stop";
    chunks.push(chunk({ role: "assistant", content: null, reasoning_content: "" }));
    for (const piece of splitText(reasoning, random)) chunks.push(chunk({ content: null, reasoning_content: piece }));
    for (const piece of splitText(text, random)) chunks.push(chunk({ content: piece, reasoning_content: null }));
  } else {
    message = { role: "assistant", content: text };
    finishReason = "stop";
    chunks.push(chunk({ role: "assistant", content: "" }));
    for (const piece of splitText(text, random)) chunks.push(chunk({ content: piece }));
  }
  chunks.push(chunk({}, finishReason));

  const completion = { ...head("chat.completion"), choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }], usage };
  const usageChunk = { ...head("chat.completion.chunk"), choices: [], usage };
  return { completion, chunks, usageChunk, seed };
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
