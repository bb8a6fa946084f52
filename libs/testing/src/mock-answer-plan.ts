import { createHash } from "node:crypto";
import type { MockDirectives } from "./mock-directives.js";
import { resolveFlavor, type MockFlavor } from "./mock-flavor.js";
import { exampleFromSchema } from "./mock-json-schema.js";
import { requestedTopLogprobs, tokenLogprobs, type MockTokenLogprob } from "./mock-logprobs.js";
import { answerText, countWords, lastUserText, messageText, seededRandom, splitText, type MockRequest } from "./mock-text.js";

export const MOCK_TOOL_ARGUMENTS = '{"city":"Paris"}';
export const MOCK_REFUSAL = "I'm sorry, but I can't help with that request.";
const REASONING = "Let me think about this request.";
// More than a test asks for, less than lets a mistyped `n` build a huge answer.
const MAX_CHOICES = 16;

export interface MockToolCall {
  id: string;
  name: string;
  arguments: string;
  /** The arguments as the stream sends them, in pieces. */
  pieces: string[];
}

/** What one choice says, before it is shaped as a message or as deltas. */
export interface ChoicePlan {
  index: number;
  /** null when the choice calls tools or refuses. */
  content: string | null;
  /** The content's stream pieces, which are also its logprobs tokens. */
  pieces: string[];
  reasoning: string | null;
  reasoningPieces: string[];
  refusal: string | null;
  refusalPieces: string[];
  toolCalls: MockToolCall[];
  finishReason: "stop" | "tool_calls";
  /** Aligned with `pieces` / `refusalPieces`; null when the request did not ask `logprobs: true`. */
  contentLogprobs: MockTokenLogprob[] | null;
  refusalLogprobs: MockTokenLogprob[] | null;
}

/** One request's answer, the same whether it is sent as JSON or as a stream. */
export interface AnswerPlan {
  id: string;
  created: number;
  model: string;
  seed: number;
  flavor: MockFlavor;
  logprobs: boolean;
  choices: ChoicePlan[];
  usage: Record<string, unknown>;
}

/** Plans the answer from the request alone (`stream` and `stream_options` aside). */
export function planAnswer(request: MockRequest, directives: MockDirectives): AnswerPlan {
  const { stream: _stream, stream_options: _options, ...identity } = request;
  const hash = createHash("sha256").update(JSON.stringify(identity)).digest("hex");
  const seed = parseInt(hash.slice(0, 8), 16);
  const flavor = resolveFlavor(request.model, directives);
  const random = seededRandom(seed);
  const count = typeof request.n === "number" && Number.isInteger(request.n) ? Math.min(MAX_CHOICES, Math.max(1, request.n)) : 1;
  const choices = Array.from({ length: count }, (_, index) => planChoice(request, directives, { index, hash, flavor, random }));
  return {
    id: `chatcmpl-${hash.slice(0, 24)}`,
    created: 1_700_000_000 + (parseInt(hash.slice(24, 31), 16) % 100_000_000),
    model: request.model,
    seed,
    flavor,
    logprobs: request.logprobs === true,
    choices,
    usage: usageOf(request, choices, flavor),
  };
}

interface ChoiceContext {
  index: number;
  hash: string;
  flavor: MockFlavor;
  random: () => number;
}

function planChoice(request: MockRequest, directives: MockDirectives, context: ChoiceContext): ChoicePlan {
  const { index, hash, flavor, random } = context;
  const reasoning = flavor.reasoning ? REASONING : null;
  const reasoningPieces = reasoning ? splitText(reasoning, random) : [];
  const toolCalls = directives.refusal ? [] : planToolCalls(request, directives, index, hash, random);
  const refusal = directives.refusal ? MOCK_REFUSAL : null;
  const content = refusal !== null || toolCalls.length > 0 ? null : contentOf(request, directives, index);
  const pieces = content === null ? [] : splitText(content, random);
  const refusalPieces = refusal === null ? [] : splitText(refusal, random);
  const topK = requestedTopLogprobs(request.top_logprobs);
  const logprobsOf = (tokens: string[]) => (request.logprobs === true ? tokenLogprobs(tokens, topK, `${hash}:${index}`) : null);
  return {
    index,
    content,
    pieces,
    reasoning,
    reasoningPieces,
    refusal,
    refusalPieces,
    toolCalls,
    finishReason: toolCalls.length > 0 ? "tool_calls" : "stop",
    contentLogprobs: logprobsOf(pieces),
    refusalLogprobs: logprobsOf(refusalPieces),
  };
}

/** The answer text: structured output when asked, else the echo (choices after the first say which they are). */
function contentOf(request: MockRequest, directives: MockDirectives, index: number): string {
  const format = request.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === "json_schema") return JSON.stringify(exampleFromSchema(format.json_schema?.schema ?? {}, index));
  if (format?.type === "json_object") return JSON.stringify({ echo: lastUserText(request.messages) });
  const text = answerText(request, directives);
  return index === 0 ? text : `(${index + 1}) ${text}`;
}

interface RequestTool {
  function?: { name?: unknown; parameters?: unknown };
}

/** `tool`: the first tool with Paris; `parallel_tools`: every tool (the only one twice), arguments fitting its parameters. */
function planToolCalls(request: MockRequest, directives: MockDirectives, index: number, hash: string, random: () => number): MockToolCall[] {
  const tools = (Array.isArray(request.tools) ? request.tools : []) as RequestTool[];
  const named = tools.filter((tool) => typeof tool?.function?.name === "string");
  const callId = (call: number) => (index === 0 && call === 0 ? `call_${hash.slice(32, 56)}` : `call_${createHash("sha256").update(`${hash}:${index}:${call}`).digest("hex").slice(0, 24)}`);
  const make = (tool: RequestTool, call: number, args: string): MockToolCall => ({
    id: callId(call),
    name: tool.function?.name as string,
    arguments: args,
    pieces: splitText(args, random),
  });
  if (directives.parallelTools && named.length > 0) {
    const targets = named.length === 1 ? [named[0], named[0]] : named;
    return targets.map((tool, call) => make(tool, call, JSON.stringify(exampleFromSchema(tool.function?.parameters ?? {}, call + index) ?? {})));
  }
  if (directives.tool && typeof tools[0]?.function?.name === "string") return [make(tools[0], 0, MOCK_TOOL_ARGUMENTS)];
  return [];
}

/** Words stand in for tokens; each flavour reports the details its provider does. */
function usageOf(request: MockRequest, choices: ChoicePlan[], flavor: MockFlavor): Record<string, unknown> {
  const prompt = request.messages.reduce<number>((sum, message) => sum + countWords(messageText((message as { content?: unknown } | null)?.content)), 0);
  const reasoning = choices.reduce((sum, choice) => sum + countWords(choice.reasoning ?? ""), 0);
  const answered = choices.reduce(
    (sum, choice) => sum + countWords(choice.content ?? "") + countWords(choice.refusal ?? "") + choice.toolCalls.reduce((words, call) => words + countWords(call.arguments), 0),
    0,
  );
  const completion = answered + reasoning;
  const counts = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (flavor.name === "openai") {
    return {
      ...counts,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
  }
  if (flavor.name === "deepseek") {
    const details = flavor.reasoning ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {};
    return { ...counts, prompt_tokens_details: { cached_tokens: 0 }, ...details, prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: prompt };
  }
  return counts;
}
