import type { FastifyRequest } from "fastify";

/** User and key ids are integers, as in the original service: 1, 2, 3… */
export const integerIdSchema = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

/** `/…/:id` of a user or a key: `/api-keys/1`. */
export const integerIdParamsSchema = {
  type: "object",
  required: ["id"],
  properties: { id: { ...integerIdSchema, description: "The integer id, e.g. 1" } },
} as const;

const decimal = /^[0-9]{1,16}$/;

/**
 * A path or query string is text, and the app validates without coercion: this preValidation hook
 * turns the named values that are whole numbers ("1") into numbers, so their schemas can say
 * `integer` and anything else ("key_x") answers 400 naming the parameter.
 */
export function integerIdsIn(part: "params" | "query", names: readonly string[]) {
  return async function readIntegerIds(request: FastifyRequest) {
    const values = request[part] as Record<string, unknown> | undefined;
    if (!values) return;
    for (const name of names) {
      const value = values[name];
      if (typeof value === "string" && decimal.test(value) && Number.isSafeInteger(Number(value))) values[name] = Number(value);
    }
  };
}
