import { randomUUID } from "node:crypto";
import type { ChatCompletion, ChatCompletionChunk } from "@llmgw/providers";
import type { ApiContext, ApiContextOptions } from "../../src/context.js";
import { startTestApi, type TestApi } from "./test-api.js";

export const KEY_A = `gw-jobs-a-${randomUUID()}`;
export const KEY_B = `gw-jobs-b-${randomUUID()}`;

export type JobsTestApi = TestApi;

/**
 * The API in-process with two static client keys and a DeepSeek provider that is never called:
 * no worker runs, so a test plays the worker by writing the job's events itself.
 */
export function startJobsApi(env: Record<string, string> = {}, options: ApiContextOptions = {}): Promise<JobsTestApi> {
  return startTestApi(
    {
      USE_DATABASE_AUTH: "false",
      API_KEYS: `${KEY_A},${KEY_B}`,
      DEEPSEEK_API_KEY: "sk-never-called",
      DEEPSEEK_BASE_URL: "http://127.0.0.1:9/v1",
      CACHE_ENABLED: "false",
      RATE_LIMIT_ENABLED: "false",
      ...env,
    },
    options,
  );
}

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

export const ask = (text: string) => ({ model: "deepseek-chat", messages: [{ role: "user", content: text }] });

/** What a streaming provider would send for `pieces`, and the completion they assemble to. */
export function fakeAnswer(pieces: string[]): { chunks: ChatCompletionChunk[]; result: ChatCompletion } {
  const base = { id: "chatcmpl-test", object: "chat.completion.chunk" as const, created: 1_764_201_600, model: "deepseek-chat" };
  const chunks: ChatCompletionChunk[] = pieces.map((content, index) => ({
    ...base,
    choices: [{ index: 0, delta: index === 0 ? { role: "assistant", content } : { content }, finish_reason: null, logprobs: null }],
  }));
  chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop", logprobs: null }] });
  const result: ChatCompletion = {
    id: base.id,
    object: "chat.completion",
    created: base.created,
    model: base.model,
    choices: [{ index: 0, message: { role: "assistant", content: pieces.join(""), refusal: null }, finish_reason: "stop", logprobs: null }],
    usage: { prompt_tokens: 3, completion_tokens: pieces.length, total_tokens: 3 + pieces.length },
  };
  return { chunks, result };
}

/** Plays a worker's whole try: started, each chunk, completed. Returns the completion. */
export async function runJob(context: ApiContext, jobId: string, pieces: string[]): Promise<ChatCompletion> {
  const { chunks, result } = fakeAnswer(pieces);
  await context.store.start(jobId, 1);
  for (const chunk of chunks) await context.store.appendChunks(jobId, 1, [chunk]);
  await context.store.complete(jobId, 1, result);
  return result;
}

/** The events of an SSE body: id, event and the parsed data of each. */
export function parseSse(text: string): { id?: string; event?: string; data: unknown }[] {
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "" && !block.startsWith(":"))
    .map((block) => {
      const fields: Record<string, string> = {};
      for (const line of block.split("\n")) {
        const colon = line.indexOf(": ");
        if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 2);
      }
      return { id: fields.id, event: fields.event, data: fields.data === undefined ? undefined : JSON.parse(fields.data) };
    });
}
