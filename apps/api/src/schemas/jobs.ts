import { MAX_WEBHOOK_URL_LENGTH } from "@llmgw/jobs";
import { chatCompletionRequestSchema } from "./chat-completion-request.js";

/** Where the job's final object is POSTed (checked further by the job service: scheme, address). */
export const webhookSchema = { type: "string", minLength: 1, maxLength: MAX_WEBHOOK_URL_LENGTH } as const;

/** Free-form labels returned with the job: at most 16 keys of at most 64 characters. */
export const metadataSchema = { type: "object", maxProperties: 16, propertyNames: { maxLength: 64 } } as const;

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
