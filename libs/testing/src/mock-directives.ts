/** Shapes the mock can give an error body, to exercise lenient error parsing. */
export type MockErrorBody = "openai" | "message" | "string" | "text" | "empty" | "echo_key";

/** Whose answer shape the mock imitates (see mock-flavor.ts). */
export type MockFlavorName = "openai" | "deepseek" | "compatible";

/** What `[[mock:…]]` directives in the last user message ask of the mock (see mock-upstream.ts). */
export interface MockDirectives {
  status?: number;
  /** Fail only the first `times` calls carrying the same status directive text. */
  times?: number;
  /** The directive text that carries `status`: the key of the `times` counter. */
  statusKey?: string;
  retryAfter?: string;
  retryAfterMs?: string;
  retryAfterDate?: number;
  errorBody?: MockErrorBody;
  delay?: number;
  hang?: boolean;
  hangAfter?: number;
  keepaliveAfter?: number;
  dropAfter?: number;
  streamErrorAfter?: number;
  chunkDelay?: number;
  words?: number;
  tool?: boolean;
  /** Call every tool of the request (at least two calls) in one answer. */
  parallelTools?: boolean;
  reasoning?: boolean;
  refusal?: boolean;
  /** Azure content filter results, Perplexity citations and unknown fields. */
  extras?: boolean;
  flavor?: MockFlavorName;
  spacedJson?: boolean;
}

const DIRECTIVE = /\[\[mock:([^\]]*)\]\]/g;
const ERROR_BODIES = new Set<string>(["openai", "message", "string", "text", "empty", "echo_key"]);
const FLAVORS = new Set<string>(["openai", "deepseek", "compatible"]);

/** Reads every `[[mock:key=value,flag,…]]` in a text; unknown keys are ignored (use `id=…` to tell directives apart). */
export function parseDirectives(text: string): MockDirectives {
  const directives: MockDirectives = {};
  for (const match of text.matchAll(DIRECTIVE)) {
    for (const item of match[1].split(",")) {
      const [rawKey, rawValue] = item.split("=", 2);
      const key = rawKey.trim();
      const value = rawValue?.trim();
      const count = value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
      switch (key) {
        case "status":
          if (count !== undefined) {
            directives.status = count;
            directives.statusKey = match[0];
          }
          break;
        case "times":
          directives.times = count;
          break;
        case "retry_after":
          directives.retryAfter = value;
          break;
        case "retry_after_ms":
          directives.retryAfterMs = value;
          break;
        case "retry_after_date":
          directives.retryAfterDate = count;
          break;
        case "error_body":
          if (value !== undefined && ERROR_BODIES.has(value)) directives.errorBody = value as MockErrorBody;
          break;
        case "delay":
          directives.delay = count;
          break;
        case "hang":
          directives.hang = true;
          break;
        case "hang_after":
          directives.hangAfter = count;
          break;
        case "keepalive_after":
          directives.keepaliveAfter = count;
          break;
        case "drop_after":
          directives.dropAfter = count;
          break;
        case "stream_error_after":
          directives.streamErrorAfter = count;
          break;
        case "chunk_delay":
          directives.chunkDelay = count;
          break;
        case "words":
          directives.words = count;
          break;
        case "tool":
          directives.tool = true;
          break;
        case "parallel_tools":
          directives.parallelTools = true;
          break;
        case "reasoning":
          directives.reasoning = true;
          break;
        case "refusal":
          directives.refusal = true;
          break;
        case "extras":
          directives.extras = true;
          break;
        case "spaced_json":
          directives.spacedJson = true;
          break;
        case "flavor":
          if (value !== undefined && FLAVORS.has(value)) directives.flavor = value as MockFlavorName;
          break;
      }
    }
  }
  return directives;
}
