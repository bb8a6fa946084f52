/**
 * Fields real providers add to OpenAI's shape, for the `extras` directive: what a pass-through
 * must keep although no OpenAI type names them. Azure OpenAI's content filter results (and its
 * alphabetically sorted keys), Perplexity's top-level `citations`, and two fields nobody documents.
 */
type Json = Record<string, unknown>;

const SAFE = { filtered: false, severity: "safe" };
const CONTENT_FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER_RESULTS = [
  { prompt_index: 0, content_filter_results: { hate: SAFE, jailbreak: { filtered: false, detected: false }, self_harm: SAFE, sexual: SAFE, violence: SAFE } },
];
export const MOCK_CITATIONS = ["https://example.com/mock-source-1", "https://example.org/mock-source-2"];

/** Top-level fields of a JSON answer or a chunk with extras (Azure's prompt filter results go only in the JSON answer). */
export function topLevelExtras(seed: number, kind: "completion" | "chunk"): Json {
  const trace = { x_provider_trace: { region: "mock-east-1", shard: seed % 16 } };
  return kind === "completion" ? { prompt_filter_results: PROMPT_FILTER_RESULTS, citations: MOCK_CITATIONS, ...trace } : { citations: MOCK_CITATIONS, ...trace };
}

/** Per-choice fields with extras; a chunk without text gets Azure's empty filter results. */
export function choiceExtras(index: number, carriesText: boolean): Json {
  return { content_filter_results: carriesText ? CONTENT_FILTER_RESULTS : {}, x_choice_trace: { rank: index } };
}

/** Azure's first stream chunk: no id, model or time, no choices, only the prompt's filter results. */
export function azurePromptFilterChunk(): Json {
  return { choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: PROMPT_FILTER_RESULTS };
}

/** The object with its own keys in alphabetical order, as Azure serialises answers. */
export function sortedKeys<T extends Json>(value: T): T {
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]])) as T;
}
