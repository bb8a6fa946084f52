import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";

/** The answers OpenAI's published schemas describe (test/fixtures/openai). */
export type OpenAISchemaName = "CreateChatCompletionResponse" | "CreateChatCompletionStreamResponse" | "ErrorResponse" | "ListModelsResponse";

const DOCUMENT_ID = "openai-spec";
const document = JSON.parse(readFileSync(new URL("../../fixtures/openai/chat-completions.schema.json", import.meta.url), "utf8")) as object;

// allErrors: a failing answer reports every wrong field at once, not the first one.
const ajv = new Ajv2020({ allErrors: true, strict: false });
// OpenAI's own format for epoch seconds.
ajv.addFormat("unixtime", { type: "number", validate: (value: number) => Number.isInteger(value) && value >= 0 });
ajv.addFormat("uri", (value: string) => URL.canParse(value));
ajv.addFormat("date", (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value));
ajv.addSchema(document, DOCUMENT_ID);

const validators = new Map<OpenAISchemaName, ValidateFunction>();

/** The problems of `value` against OpenAI's schema NAME, one readable line each; empty when it conforms. */
export function openAISchemaErrors(name: OpenAISchemaName, value: unknown): string[] {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.getSchema(`${DOCUMENT_ID}#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema ${name} in the OpenAI fixture`);
    validators.set(name, validate);
  }
  return validate(value) ? [] : (validate.errors ?? []).map((error) => describeError(error, value));
}

/** Throws with every problem listed when `value` does not conform to OpenAI's schema NAME. */
export function expectOpenAIShape(name: OpenAISchemaName, value: unknown, what = "answer"): void {
  const errors = openAISchemaErrors(name, value);
  if (errors.length > 0) throw new Error(`${what} does not match OpenAI's ${name}:\n  ${errors.join("\n  ")}`);
}

function describeError(error: ErrorObject, root: unknown): string {
  const where = error.instancePath === "" ? "(root)" : error.instancePath;
  const found = JSON.stringify(valueAt(root, error.instancePath))?.slice(0, 120);
  return `${where} ${error.message ?? "is invalid"}${paramsOf(error)}; found ${found}`;
}

function paramsOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (Array.isArray(params.allowedValues)) return ` (${params.allowedValues.map((value) => JSON.stringify(value)).join(", ")})`;
  return "";
}

function valueAt(root: unknown, pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .reduce<unknown>((node, part) => (typeof node === "object" && node !== null ? (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined), root);
}
