import type { ChatCompletion, ChatCompletionChunk } from "./types.js";

type ChunkChoice = ChatCompletionChunk["choices"][number];
type TokenLogprob = NonNullable<NonNullable<ChunkChoice["logprobs"]>["content"]>[number];
/** Provider extras we rebuild too: DeepSeek's reasoner streams `reasoning_content`. */
type Delta = ChunkChoice["delta"] & { reasoning_content?: string | null };

interface ToolCallState {
  id: string;
  type: string;
  name: string;
  arguments: string;
}

interface ChoiceState {
  index: number;
  role: string;
  content: string;
  sawContent: boolean;
  refusal: string | null;
  sawRefusal: boolean;
  reasoning: string | null;
  toolCalls: Map<number, ToolCallState>;
  functionCall: { name: string; arguments: string } | null;
  logprobs: { content: TokenLogprob[] | null; refusal: TokenLogprob[] | null } | null;
  finishReason: ChunkChoice["finish_reason"];
}

/**
 * Rebuilds from a stream's chunks the answer the provider would have given without streaming:
 * same id, created, model and fingerprint, choices by index (text, tool calls merged by index,
 * refusal, DeepSeek's reasoning_content, logprobs), finish reasons and the usage chunk.
 */
export function assembleChatCompletion(chunks: ChatCompletionChunk[]): ChatCompletion {
  const first = chunks[0];
  if (!first) throw new Error("cannot assemble a completion from no chunks");
  const choices = new Map<number, ChoiceState>();
  let usage: ChatCompletionChunk["usage"] = undefined;
  let fingerprint: { value: string | null } | undefined;
  let serviceTier: { value: ChatCompletionChunk["service_tier"] } | undefined;

  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    if ("system_fingerprint" in chunk && (fingerprint?.value == null || chunk.system_fingerprint != null)) {
      fingerprint = { value: chunk.system_fingerprint ?? null };
    }
    if ("service_tier" in chunk && (serviceTier?.value == null || chunk.service_tier != null)) {
      serviceTier = { value: chunk.service_tier ?? null };
    }
    for (const choice of chunk.choices ?? []) {
      let state = choices.get(choice.index);
      if (!state) {
        state = newChoiceState(choice.index);
        choices.set(choice.index, state);
      }
      mergeChoice(state, choice);
    }
  }

  const completion: Record<string, unknown> = {
    id: first.id,
    object: "chat.completion",
    created: first.created,
    model: first.model,
    choices: [...choices.values()].sort((a, b) => a.index - b.index).map(finishChoice),
  };
  if (usage) completion.usage = usage;
  if (serviceTier) completion.service_tier = serviceTier.value;
  if (fingerprint) completion.system_fingerprint = fingerprint.value;
  return completion as unknown as ChatCompletion;
}

function newChoiceState(index: number): ChoiceState {
  return {
    index,
    role: "assistant",
    content: "",
    sawContent: false,
    refusal: null,
    sawRefusal: false,
    reasoning: null,
    toolCalls: new Map(),
    functionCall: null,
    logprobs: null,
    finishReason: null,
  };
}

function mergeChoice(state: ChoiceState, choice: ChunkChoice): void {
  const delta: Delta = choice.delta ?? {};
  if (delta.role) state.role = delta.role;
  if (typeof delta.content === "string") {
    state.content += delta.content;
    state.sawContent = true;
  }
  // OpenAI sends `refusal: null` in the first delta and `refusal: null` in the JSON answer.
  if ("refusal" in delta) {
    state.sawRefusal = true;
    if (typeof delta.refusal === "string") state.refusal = (state.refusal ?? "") + delta.refusal;
  }
  if (typeof delta.reasoning_content === "string") state.reasoning = (state.reasoning ?? "") + delta.reasoning_content;
  for (const fragment of delta.tool_calls ?? []) {
    let call = state.toolCalls.get(fragment.index);
    if (!call) {
      call = { id: "", type: "function", name: "", arguments: "" };
      state.toolCalls.set(fragment.index, call);
    }
    if (fragment.id && !call.id) call.id = fragment.id;
    if (fragment.type) call.type = fragment.type;
    if (fragment.function?.name && !call.name) call.name = fragment.function.name;
    if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
  }
  if (delta.function_call) {
    state.functionCall ??= { name: "", arguments: "" };
    if (delta.function_call.name && !state.functionCall.name) state.functionCall.name = delta.function_call.name;
    if (delta.function_call.arguments) state.functionCall.arguments += delta.function_call.arguments;
  }
  if (choice.logprobs) {
    state.logprobs ??= { content: null, refusal: null };
    if (choice.logprobs.content) state.logprobs.content = [...(state.logprobs.content ?? []), ...choice.logprobs.content];
    if (choice.logprobs.refusal) state.logprobs.refusal = [...(state.logprobs.refusal ?? []), ...choice.logprobs.refusal];
  }
  if (choice.finish_reason != null) state.finishReason = choice.finish_reason;
}

function finishChoice(state: ChoiceState) {
  const hasCalls = state.toolCalls.size > 0 || state.functionCall !== null;
  // Like the JSON answers: null content when the model only called tools (or said nothing at all).
  const content = state.content !== "" || (state.sawContent && !hasCalls) ? state.content : null;
  const message: Record<string, unknown> = { role: state.role, content };
  if (state.sawRefusal || state.refusal !== null) message.refusal = state.refusal;
  if (state.reasoning !== null) message.reasoning_content = state.reasoning;
  if (state.toolCalls.size > 0) {
    message.tool_calls = [...state.toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ id: call.id, type: call.type, function: { name: call.name, arguments: call.arguments } }));
  }
  if (state.functionCall) message.function_call = state.functionCall;
  return { index: state.index, message, logprobs: state.logprobs, finish_reason: state.finishReason };
}
