import type { ChatCompletion, ChatCompletionChunk } from "@llmgw/providers";

/**
 * A finished ChatCompletion as the chunks a stream of it would have carried, for callers
 * who asked for SSE but get a stored answer (a cache hit, a provider that cannot stream); the
 * usage chunk only for those who asked for it (`stream_options.include_usage`).
 */
export function completionToChunks(completion: ChatCompletion, options: { withUsage: boolean }): ChatCompletionChunk[] {
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
    ...(completion.system_fingerprint ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
  const chunks: ChatCompletionChunk[] = completion.choices.map((choice) => {
    const { role, content, tool_calls, refusal, ...extra } = choice.message;
    const delta = { role, content: content ?? null, ...extra } as ChatCompletionChunk.Choice.Delta;
    if (refusal) delta.refusal = refusal;
    if (tool_calls) {
      delta.tool_calls = tool_calls.map((call, index) => ({
        index,
        id: call.id,
        type: "function" as const,
        function: "function" in call ? { name: call.function.name, arguments: call.function.arguments } : undefined,
      }));
    }
    return {
      ...base,
      choices: [{ index: choice.index, delta, finish_reason: choice.finish_reason, logprobs: choice.logprobs ?? null }],
    };
  });
  if (options.withUsage && completion.usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}
