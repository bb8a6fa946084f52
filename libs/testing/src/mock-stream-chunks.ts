import type { AnswerPlan, ChoicePlan } from "./mock-answer-plan.js";
import { MOCK_FINGERPRINT } from "./mock-completion.js";
import type { MockTokenLogprob } from "./mock-logprobs.js";
import { azurePromptFilterChunk, choiceExtras, sortedKeys, topLevelExtras } from "./mock-provider-extras.js";

type Json = Record<string, unknown>;

/** One choice's part of one chunk. */
interface Step {
  delta: Json;
  logprobs: Json | null;
  finishReason: string | null;
  /** Carries answer text (Azure then reports filter results for it). */
  carriesText: boolean;
}

/**
 * The JSON text of each chunk, in order: one choice per chunk, choices interleaved when `n > 1`,
 * then, when `includeUsage`, the `choices: []` usage chunk (every other chunk then carries
 * `usage: null`, as OpenAI's do). With extras, Azure's prompt filter chunk comes first.
 */
export function renderStreamEvents(plan: AnswerPlan, includeUsage: boolean): string[] {
  const head = chunkHead(plan);
  const serialise = plan.flavor.spacedJson ? spacedJson : (value: unknown) => JSON.stringify(value);
  const finish = (chunk: Json) => {
    const full = plan.flavor.extras ? sortedKeys({ ...chunk, ...topLevelExtras(plan.seed, "chunk") }) : chunk;
    return serialise(full);
  };
  const withUsage = (chunk: Json) => (includeUsage ? { ...chunk, usage: null } : chunk);
  const events: string[] = plan.flavor.extras ? [serialise(azurePromptFilterChunk())] : [];
  for (const [choice, step] of interleave(plan.choices.map((choice) => [choice, stepsOf(plan, choice)] as const))) {
    const rendered = { index: choice.index, delta: step.delta, logprobs: step.logprobs, finish_reason: step.finishReason };
    const withExtras = plan.flavor.extras ? sortedKeys({ ...rendered, ...choiceExtras(choice.index, step.carriesText) }) : rendered;
    events.push(finish(withUsage({ ...head, choices: [withExtras] })));
  }
  if (includeUsage) events.push(finish({ ...head, choices: [], usage: plan.usage }));
  return events;
}

function chunkHead(plan: AnswerPlan): Json {
  const head = { id: plan.id, object: "chat.completion.chunk", created: plan.created, model: plan.model };
  if (plan.flavor.name === "openai") return { ...head, service_tier: "default", system_fingerprint: MOCK_FINGERPRINT };
  return { ...head, system_fingerprint: MOCK_FINGERPRINT };
}

/** Round robin over the choices' steps, as several samples come out of one generation. */
function* interleave<T, S>(lists: (readonly [T, S[]])[]): Generator<[T, S]> {
  const longest = Math.max(0, ...lists.map(([, steps]) => steps.length));
  for (let i = 0; i < longest; i++) {
    for (const [owner, steps] of lists) if (i < steps.length) yield [owner, steps[i]];
  }
}

/** A choice as OpenAI streams it: the role first, then pieces, then an empty delta with the finish reason. */
function stepsOf(plan: AnswerPlan, choice: ChoicePlan): Step[] {
  const openai = plan.flavor.name === "openai";
  const asked = plan.logprobs;
  const contentLogprobs = (token: MockTokenLogprob[]) => (asked ? { content: token, refusal: null } : null);
  const refusalLogprobs = (token: MockTokenLogprob[]) => (asked ? { content: null, refusal: token } : null);
  const steps: Step[] = [];
  const step = (delta: Json, logprobs: Json | null = null, carriesText = false) => steps.push({ delta, logprobs, finishReason: null, carriesText });
  // Reasoning comes before anything else the choice says, tool calls included.
  const firstCall = choice.reasoning === null ? choice.toolCalls.at(0) : undefined;

  if (choice.reasoning !== null) step({ role: "assistant", content: null, reasoning_content: "" }, contentLogprobs([]));
  else if (firstCall) step({ role: "assistant", content: null, tool_calls: [opening(firstCall, 0)], ...(openai ? { refusal: null } : {}) });
  else if (choice.refusal !== null) step({ role: "assistant", content: null, refusal: "" }, refusalLogprobs([]));
  else step({ role: "assistant", content: "", ...(openai ? { refusal: null } : {}) }, contentLogprobs([]));

  for (const piece of choice.reasoningPieces) step({ content: null, reasoning_content: piece });
  choice.pieces.forEach((piece, i) => {
    const delta = choice.reasoning !== null ? { content: piece, reasoning_content: null } : { content: piece };
    step(delta, contentLogprobs(choice.contentLogprobs ? [choice.contentLogprobs[i]] : []), true);
  });
  choice.refusalPieces.forEach((piece, i) => step({ refusal: piece }, refusalLogprobs(choice.refusalLogprobs ? [choice.refusalLogprobs[i]] : []), true));
  choice.toolCalls.forEach((call, index) => {
    if (call !== firstCall) step({ tool_calls: [opening(call, index)] });
    for (const piece of call.pieces) step({ tool_calls: [{ index, function: { arguments: piece } }] });
  });
  steps.push({ delta: {}, logprobs: null, finishReason: choice.finishReason, carriesText: false });
  return steps;
}

/** A tool call's first delta: its index, id, type and name, no arguments yet. */
function opening(call: ChoicePlan["toolCalls"][number], index: number): Json {
  return { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } };
}

/** JSON as Python's `json.dumps` writes it by default: `, ` between items, `: ` after keys. */
function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => `${JSON.stringify(key)}: ${spacedJson(inner)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}
