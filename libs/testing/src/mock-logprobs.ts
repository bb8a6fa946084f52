import { createHash } from "node:crypto";

/** One entry of `choices[].logprobs.content` (or `.refusal`), as OpenAI sends it. */
export interface MockTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const ALTERNATIVES = [" the", " a", ".", ",", " and", " of", " to", " in", " is", " it", " that", " on", " for", " with", " as", " at", " by", " from", " or", " be"];

/**
 * Log probabilities of the tokens of an answer: the same token at the same position always gets
 * the same numbers, so a JSON answer and its stream carry equal `logprobs`. `topK` alternatives
 * (0 to 20), the chosen token first and the rest less likely, as OpenAI orders them.
 */
export function tokenLogprobs(tokens: string[], topK: number, salt: string): MockTokenLogprob[] {
  return tokens.map((token, position) => {
    const logprob = pseudoLogprob(`${salt}:${position}:${token}`);
    const others = ALTERNATIVES.filter((alternative) => alternative !== token);
    const top = Array.from({ length: topK }, (_, rank) => {
      const candidate = rank === 0 ? token : others[(position + rank) % others.length];
      return { token: candidate, logprob: round(logprob - rank * 1.25), bytes: bytesOf(candidate) };
    });
    return { token, logprob, bytes: bytesOf(token), top_logprobs: top };
  });
}

/** The `top_logprobs` a request asks for, within OpenAI's 0 to 20. */
export function requestedTopLogprobs(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) ? Math.min(20, Math.max(0, value)) : 0;
}

function pseudoLogprob(key: string): number {
  const fraction = parseInt(createHash("sha256").update(key).digest("hex").slice(0, 8), 16) / 0xffffffff;
  return round(-fraction * 2);
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

function bytesOf(text: string): number[] {
  return [...Buffer.from(text, "utf8")];
}
