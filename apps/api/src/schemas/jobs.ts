import { MAX_WEBHOOK_URL_LENGTH } from "@llmgw/jobs";
import { chatCompletionRequestSchema } from "./chat-completion-request.js";

/** Where the job's final object is POSTed (checked further by the job service: scheme, address). */
export const webhookSchema = { type: "string", minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH } as const;

/** Bounds of a job's `metadata`, as OpenAI bounds its own `metadata` (numbers, booleans and null are accepted too). */
export const MAX_METADATA_KEYS = 16;
export const MAX_METADATA_KEY_LENGTH = 64;
export const MAX_METADATA_VALUE_LENGTH = 512;

/**
 * Free-form labels returned with the job, kept for days in a `noeviction` Redis: at most 16 keys
 * of at most 64 characters, each value a string of at most 512 characters or a number, boolean or
 * null; nothing nested. (The job store also refuses metadata whose JSON exceeds 16 KiB.)
 */
export const metadataSchema = {
  type: "object",
  maxProperties: MAX_METADATA_KEYS,
  propertyNames: { maxLength: MAX_METADATA_KEY_LENGTH },
  // maxLength applies to strings only; the type list refuses objects and arrays.
  additionalProperties: { type: ["string", "number", "boolean", "null"], maxLength: MAX_METADATA_VALUE_LENGTH },
} as const;

/** `POST /v1/jobs`: the chat completion request validated exactly as the synchronous route does, nothing unknown beside it. */
export const jobSubmissionSchema = {
  type: "object",
  required: ["request"],
  additionalProperties: false,
  properties: {
    request: chatCompletionRequestSchema,
    webhook: webhookSchema,
    metadata: metadataSchema,
  },
} as const;

export const jobIdParamsSchema = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string" } },
} as const;

export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 20;
