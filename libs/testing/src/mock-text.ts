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

const LOREM = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua".split(" ");

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

/** Pieces of 1 to 6 code points (never half a surrogate pair), roughly a token each. */
export function splitText(text: string, random: () => number): string[] {
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; ) {
    const size = 1 + Math.floor(random() * 6);
    pieces.push(points.slice(i, i + size).join(""));
    i += size;
  }
  return pieces;
}

/** A message's text: string content, or its text parts joined with "\n" (images and the like count nothing). */
export function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((part): part is { type: "text"; text: string } => part?.type === "text" && typeof part.text === "string")
    .map((part) => part.text)
    .join("\n");
}

export function countWords(text: string): number {
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
