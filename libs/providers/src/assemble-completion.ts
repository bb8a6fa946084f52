import type { ChatCompletion, ChatCompletionChunk } from "./types.js";

type Json = Record<string, unknown>;

/** Top-level chunk fields with a rule of their own; every other field keeps its last non-null value. */
const IDENTITY_FIELDS = new Set(["id", "created", "model"]);
/** Stream-only padding (OpenAI's `obfuscation`): it says nothing about the answer. */
const STREAM_ONLY_FIELDS = new Set(["obfuscation"]);
/** Delta fields whose pieces add up to one text. Unknown string fields are texts too (OpenRouter's `reasoning`). */
const ARRAY_FIELDS = new Set(["annotations"]);

interface ToolCallState {
  fields: Json;
  function: Json;
}

interface ChoiceState {
  /** Per-choice fields other than delta, logprobs and finish_reason (Azure's content_filter_results), last non-null. */
  fields: Json;
  message: Json;
  toolCalls: Map<number, ToolCallState>;
  logprobs: Json | null;
  finishReason: unknown;
}

/**
 * The answer a stream's chunks add up to, keeping every field: `id`, `created` and `model` from the
 * first chunk that has them non-empty (Azure's first chunk has them empty); choices by index with
 * their texts, refusal, reasoning, annotations, tool calls merged by index and logprobs; unknown
 * top-level, per-choice and delta fields kept (texts joined, anything else its last non-null value);
 * the usage chunk's usage. Fields appear in the order the stream first showed them.
 */
export function assembleChatCompletion(chunks: ChatCompletionChunk[]): ChatCompletion {
  const assembler = createCompletionAssembler();
  for (const chunk of chunks) assembler.add(chunk);
  return assembler.finish();
}

/**
 * assembleChatCompletion one chunk at a time: a worker merges each chunk as it arrives, so a long
 * stream's chunks die young instead of all living until its end (and into the old generation).
 */
export function createCompletionAssembler() {
  const top: Json = {};
  const choices = new Map<number, ChoiceState>();
  let added = 0;

  return {
    add(chunk: ChatCompletionChunk): void {
      added++;
      const fields = chunk as unknown as Json;
      // for…in over a parsed JSON object: its own fields, without an array of pairs per chunk.
      for (const field in fields) {
        const value = fields[field];
        if (field === "choices" || STREAM_ONLY_FIELDS.has(field)) {
          if (field === "choices" && !("choices" in top)) top.choices = null;
          continue;
        }
        if (field === "object") {
          top.object = "chat.completion";
        } else if (IDENTITY_FIELDS.has(field)) {
          if (isEmpty(top[field]) && !isEmpty(value)) top[field] = value;
          else if (!(field in top)) top[field] = value;
        } else if (value != null || !(field in top)) {
          top[field] = value;
        }
      }
      for (const choice of ((chunk as unknown as Json).choices as Json[] | undefined) ?? []) {
        const index = choice.index as number;
        let state = choices.get(index);
        if (!state) choices.set(index, (state = { fields: {}, message: {}, toolCalls: new Map(), logprobs: null, finishReason: null }));
        mergeChoice(state, choice);
      }
    },
    /** The answer; call once, after the last chunk. */
    finish(): ChatCompletion {
      if (added === 0) throw new Error("cannot assemble a completion from no chunks");
      top.object ??= "chat.completion";
      top.choices = [...choices.entries()].sort(([a], [b]) => a - b).map(([index, state]) => finishChoice(index, state));
      return top as unknown as ChatCompletion;
    },
  };
}

function mergeChoice(state: ChoiceState, choice: Json): void {
  for (const field in choice) {
    const value = choice[field];
    if (field === "index" || field === "delta") continue;
    if (field === "logprobs") {
      if (value != null) state.logprobs = mergeLogprobs(state.logprobs, value as Json);
    } else if (field === "finish_reason") {
      if (value != null) state.finishReason = value;
    } else if (value != null || !(field in state.fields)) {
      state.fields[field] = value;
    }
  }
  const delta = (choice.delta as Json | undefined) ?? {};
  for (const field in delta) {
    const value = delta[field];
    if (field === "tool_calls") {
      for (const fragment of (value as Json[] | null) ?? []) mergeToolCall(state, fragment);
    } else if (field === "role") {
      if (value != null) state.message.role = value;
    } else if (field === "function_call") {
      if (value != null) state.message.function_call = joinFields((state.message.function_call as Json) ?? {}, value as Json);
    } else {
      state.message[field] = joinValue(state.message[field], value, ARRAY_FIELDS.has(field));
    }
  }
}

function mergeToolCall(state: ChoiceState, fragment: Json): void {
  const index = fragment.index as number;
  let call = state.toolCalls.get(index);
  if (!call) state.toolCalls.set(index, (call = { fields: {}, function: {} }));
  for (const [field, value] of Object.entries(fragment)) {
    if (field === "index") continue;
    if (field === "function") call.function = joinFields(call.function, (value as Json) ?? {});
    // An id or a type is sent once; a later empty one must not erase it.
    else if (value != null && value !== "") call.fields[field] = value;
    else if (!(field in call.fields)) call.fields[field] = value;
  }
}

/** Function name and arguments: the name is sent once, the arguments in pieces. */
function joinFields(into: Json, piece: Json): Json {
  for (const [field, value] of Object.entries(piece)) {
    into[field] = field === "name" && typeof into.name === "string" && into.name !== "" ? into.name : joinValue(into[field], value, false);
  }
  return into;
}

/** Texts add up, arrays (annotations) too; anything else keeps its last non-null value. */
function joinValue(previous: unknown, value: unknown, isArray: boolean): unknown {
  if (typeof value === "string") return (typeof previous === "string" ? previous : "") + value;
  if (isArray && Array.isArray(value)) return [...(Array.isArray(previous) ? previous : []), ...value];
  return value ?? previous ?? value;
}

function mergeLogprobs(previous: Json | null, next: Json): Json {
  const merged: Json = { ...(previous ?? {}) };
  for (const [field, value] of Object.entries(next)) {
    merged[field] = Array.isArray(value) ? [...((merged[field] as unknown[]) ?? []), ...value] : (value ?? merged[field] ?? null);
  }
  return merged;
}

function finishChoice(index: number, state: ChoiceState): Json {
  const message: Json = { role: "assistant", ...state.message };
  // Like the JSON answers: null content when the model said nothing (only called tools, or refused).
  if (typeof message.content !== "string" || (message.content === "" && (state.toolCalls.size > 0 || message.refusal))) {
    message.content = null;
  }
  if (state.toolCalls.size > 0) {
    message.tool_calls = [...state.toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ ...call.fields, type: call.fields.type ?? "function", function: call.function }));
  }
  return { index, message, logprobs: state.logprobs, finish_reason: state.finishReason, ...state.fields };
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "" || value === 0;
}
