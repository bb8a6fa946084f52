import { planAnswer } from "./mock-answer-plan.js";
import { renderCompletion } from "./mock-completion.js";
import type { MockDirectives } from "./mock-directives.js";
import { renderStreamEvents } from "./mock-stream-chunks.js";
import type { MockRequest } from "./mock-text.js";

export { MOCK_REFUSAL, MOCK_TOOL_ARGUMENTS } from "./mock-answer-plan.js";
export { MOCK_FINGERPRINT } from "./mock-completion.js";
export { MOCK_CITATIONS } from "./mock-provider-extras.js";
export { answerText, lastUserText, loremWords, seededRandom, type MockRequest } from "./mock-text.js";

/** One request's deterministic answer, as a JSON completion and as the stream's events. */
export interface MockAnswer {
  completion: Record<string, unknown>;
  /** The completion as the JSON answer's body: indented by two spaces with `spaced_json`, as OpenAI's API writes it. */
  completionText: string;
  /**
   * The JSON text of each stream chunk, up to the last with a finish_reason, then the
   * `choices: []` usage chunk when `includeUsage` (other chunks then carry `usage: null`, as OpenAI's do).
   */
  streamEvents(includeUsage: boolean): string[];
  /** Seed for the stream's odd write boundaries. */
  seed: number;
}

/**
 * Builds the answer from the request alone (stream flags aside), so a JSON call and a
 * streaming call of the same request carry the same id, created, text and usage.
 */
export function buildAnswer(request: MockRequest, directives: MockDirectives): MockAnswer {
  const plan = planAnswer(request, directives);
  const completion = renderCompletion(plan);
  return {
    completion,
    completionText: plan.flavor.spacedJson ? JSON.stringify(completion, null, 2) : JSON.stringify(completion),
    streamEvents: (includeUsage) => renderStreamEvents(plan, includeUsage),
    seed: plan.seed,
  };
}
