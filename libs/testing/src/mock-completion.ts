import type { AnswerPlan, ChoicePlan } from "./mock-answer-plan.js";
import { choiceExtras, sortedKeys, topLevelExtras } from "./mock-provider-extras.js";

type Json = Record<string, unknown>;

export const MOCK_FINGERPRINT = "fp_mock_upstream";

/**
 * The JSON answer, fields in the order each provider writes them: OpenAI ends with
 * `service_tier` and `system_fingerprint`, DeepSeek with `system_fingerprint`, the bare
 * compatible answer keeps the fingerprint before `choices`; with extras, Azure's sorted keys.
 */
export function renderCompletion(plan: AnswerPlan): Json {
  const choices = plan.choices.map((choice) => renderChoice(plan, choice));
  const head = { id: plan.id, object: "chat.completion", created: plan.created, model: plan.model };
  let completion: Json;
  if (plan.flavor.name === "openai") {
    completion = { ...head, choices, usage: plan.usage, service_tier: "default", system_fingerprint: MOCK_FINGERPRINT };
  } else if (plan.flavor.name === "deepseek") {
    completion = { ...head, choices, usage: plan.usage, system_fingerprint: MOCK_FINGERPRINT };
  } else {
    completion = { ...head, system_fingerprint: MOCK_FINGERPRINT, choices, usage: plan.usage };
  }
  return plan.flavor.extras ? sortedKeys({ ...completion, ...topLevelExtras(plan.seed, "completion") }) : completion;
}

function renderChoice(plan: AnswerPlan, choice: ChoicePlan): Json {
  const rendered = { index: choice.index, message: renderMessage(plan, choice), logprobs: renderLogprobs(plan, choice), finish_reason: choice.finishReason };
  return plan.flavor.extras ? sortedKeys({ ...rendered, ...choiceExtras(choice.index, true) }) : rendered;
}

function renderMessage(plan: AnswerPlan, choice: ChoicePlan): Json {
  const message: Json = { role: "assistant", content: choice.content };
  if (choice.reasoning !== null) message.reasoning_content = choice.reasoning;
  if (choice.toolCalls.length > 0) {
    message.tool_calls = choice.toolCalls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } }));
  }
  // OpenAI always says `refusal` and `annotations`; the others say `refusal` only when there is one.
  if (plan.flavor.name === "openai") return { ...message, refusal: choice.refusal, annotations: [] };
  return choice.refusal !== null ? { ...message, refusal: choice.refusal } : message;
}

function renderLogprobs(plan: AnswerPlan, choice: ChoicePlan): Json | null {
  if (!plan.logprobs) return null;
  return { content: choice.refusal === null ? choice.contentLogprobs : null, refusal: choice.refusal === null ? null : choice.refusalLogprobs };
}
