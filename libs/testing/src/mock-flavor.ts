import type { MockDirectives, MockFlavorName } from "./mock-directives.js";

/** Whose answer the mock imitates, so a pass-through is tested against each provider's real shape. */
export interface MockFlavor {
  name: MockFlavorName;
  /** DeepSeek-reasoner style `reasoning_content` before the answer. */
  reasoning: boolean;
  /** Azure content filter results, Perplexity citations and unknown fields, Azure's sorted keys. */
  extras: boolean;
  /** Chunks written with Python's default separators (`, `, `: `) rather than compact JSON. */
  spacedJson: boolean;
}

// The model families CONTRACT section 5 routes to OpenAI.
const OPENAI_MODEL = /^(gpt-|o1|o3|o4|chatgpt-)/;

/**
 * The shape follows the provider a model name belongs to: OpenAI's for OpenAI's model names,
 * DeepSeek's for `deepseek-*` (and whenever `reasoning` is asked). Any other name (`mock-model`)
 * gets the bare OpenAI-compatible answer the mock always gave, which older tests pin field by
 * field. `flavor=` overrides the choice.
 */
export function resolveFlavor(model: string, directives: MockDirectives): MockFlavor {
  const reasoning = directives.reasoning === true || model === "deepseek-reasoner";
  const byModel: MockFlavorName = OPENAI_MODEL.test(model) ? "openai" : model.startsWith("deepseek-") || reasoning ? "deepseek" : "compatible";
  return { name: directives.flavor ?? byModel, reasoning, extras: directives.extras === true, spacedJson: directives.spacedJson === true };
}
