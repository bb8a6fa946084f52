type Schema = Record<string, unknown>;

const WORDS = ["Paris", "Tokyo", "Lima", "Oslo", "Nairobi", "Quito"];
// Deep enough for any structured output a test declares; stops a recursive `$ref` from looping.
const MAX_DEPTH = 8;

/**
 * A value that validates against a JSON schema, deterministic for a schema and a variant, so
 * structured outputs (`response_format: json_schema`) and tool arguments parse in the SDKs.
 * Covers what OpenAI's strict mode allows: object/properties, string (with common formats),
 * number, integer, boolean, null, array, enum, const, anyOf/oneOf (nullable ones included), `$ref`.
 */
export function exampleFromSchema(schema: unknown, variant = 0): unknown {
  return example(schema, { root: schema, variant, depth: 0 });
}

interface Walk {
  root: unknown;
  variant: number;
  depth: number;
}

function example(node: unknown, walk: Walk): unknown {
  if (typeof node !== "object" || node === null || walk.depth > MAX_DEPTH) return null;
  const schema = node as Schema;
  const deeper = { ...walk, depth: walk.depth + 1 };
  if (typeof schema.$ref === "string") return example(resolvePointer(walk.root, schema.$ref), deeper);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[walk.variant % schema.enum.length];
  const branches = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches) && branches.length > 0) {
    const concrete = branches.find((branch) => (branch as Schema | null)?.type !== "null") ?? branches[0];
    return example(concrete, deeper);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return example(schema.allOf[0], deeper);
  switch (typeOf(schema)) {
    case "object":
      return objectExample(schema, deeper);
    case "array": {
      const length = walk.depth >= MAX_DEPTH - 1 ? 0 : Math.max(1, Number(schema.minItems ?? 0));
      return Array.from({ length }, (_, i) => example(schema.items, { ...deeper, variant: walk.variant + i }));
    }
    case "string":
      return stringExample(schema, walk.variant);
    case "integer":
      return bounded(schema, 1 + walk.variant, true);
    case "number":
      return bounded(schema, 1.5 + walk.variant, false);
    case "boolean":
      return walk.variant % 2 === 0;
    default:
      return null;
  }
}

function objectExample(schema: Schema, walk: Walk): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(properties).map(([key, value], i) => [key, example(value, { ...walk, variant: walk.variant + i })]));
}

function typeOf(schema: Schema): string | undefined {
  const type = schema.type;
  if (Array.isArray(type)) return type.find((name) => name !== "null") ?? type[0];
  if (typeof type === "string") return type;
  if (schema.properties !== undefined) return "object";
  if (schema.items !== undefined) return "array";
  return undefined;
}

function stringExample(schema: Schema, variant: number): string {
  switch (schema.format) {
    case "date-time":
      return "2025-01-02T03:04:05Z";
    case "date":
      return "2025-01-02";
    case "time":
      return "03:04:05";
    case "email":
      return "mock@example.com";
    case "uri":
    case "url":
      return "https://example.com/mock";
    case "uuid":
      return "00000000-0000-4000-8000-000000000000";
  }
  const word = WORDS[variant % WORDS.length];
  const minLength = Number(schema.minLength ?? 0);
  return word.length >= minLength ? word : word.padEnd(minLength, "x");
}

function bounded(schema: Schema, preferred: number, integer: boolean): number {
  const low = typeof schema.minimum === "number" ? schema.minimum : typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum + 1 : undefined;
  const high = typeof schema.maximum === "number" ? schema.maximum : typeof schema.exclusiveMaximum === "number" ? schema.exclusiveMaximum - 1 : undefined;
  let value = preferred;
  if (low !== undefined && value < low) value = low;
  if (high !== undefined && value > high) value = high;
  return integer ? Math.ceil(value) : value;
}

/** Resolves a local `#/a/b` reference; anything else resolves to nothing (the value is then null). */
function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  const path = ref.slice(1).split("/").filter((part) => part !== "");
  return path.reduce<unknown>((node, part) => {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    return typeof node === "object" && node !== null ? (node as Schema)[key] : undefined;
  }, root);
}
