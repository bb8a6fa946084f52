import { Ajv, type ValidateFunction } from "ajv";
import type { RawData } from "ws";
import { GatewayError } from "@llmgw/errors";
import type { ChatCompletionRequest } from "@llmgw/providers";
import { toHttpError } from "./http-errors.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "./json-depth.js";
import { chatCompletionRequestSchema } from "../schemas/chat-completion-request.js";
import { metadataSchema, webhookSchema } from "../schemas/jobs.js";

/** Echoed in the answers to a frame so a client can match them (a string or an integer). */
export type ClientRef = string | number;

export type ClientFrame =
  | { type: "auth"; api_key: string; client_ref?: ClientRef }
  | {
      type: "create";
      request: ChatCompletionRequest;
      webhook?: string;
      metadata?: Record<string, unknown>;
      client_ref?: ClientRef;
    }
  | { type: "subscribe"; job_id: string; after?: string; client_ref?: ClientRef }
  | { type: "unsubscribe"; job_id: string; client_ref?: ClientRef }
  | { type: "cancel"; job_id: string; client_ref?: ClientRef };

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; error: GatewayError; clientRef?: ClientRef; jobId?: string };

const clientRef = { anyOf: [{ type: "string", maxLength: 256 }, { type: "integer" }] };
const jobId = { type: "string", maxLength: 128 };

function frameSchema(type: string, required: string[], properties: Record<string, unknown>) {
  return {
    type: "object",
    required: ["type", ...required],
    additionalProperties: false,
    properties: { type: { const: type }, client_ref: clientRef, ...properties },
  };
}

// The same validation options as the HTTP routes (app.ts): nothing coerced, added or removed.
const ajv = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false, strict: false });
const validators: Record<ClientFrame["type"], ValidateFunction> = {
  auth: ajv.compile(frameSchema("auth", ["api_key"], { api_key: { type: "string", minLength: 1, maxLength: 1024 } })),
  create: ajv.compile(
    frameSchema("create", ["request"], { request: chatCompletionRequestSchema, webhook: webhookSchema, metadata: metadataSchema }),
  ),
  subscribe: ajv.compile(frameSchema("subscribe", ["job_id"], { job_id: jobId, after: { type: "string", maxLength: 64 } })),
  unsubscribe: ajv.compile(frameSchema("unsubscribe", ["job_id"], { job_id: jobId })),
  cancel: ajv.compile(frameSchema("cancel", ["job_id"], { job_id: jobId })),
};

const frameTypes = Object.keys(validators).join(", ");

/**
 * A client's text frame as one of the frames of CONTRACT section 6, or the error frame's error:
 * the same 400 wording as the HTTP routes, with `param` naming the field.
 */
export function parseClientFrame(data: RawData, isBinary: boolean): ParsedFrame {
  if (isBinary) return invalid("Send JSON text frames; binary frames are not understood.");
  const text = rawText(data);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: new GatewayError("invalid_json", { message: "The frame is not valid JSON." }) };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return invalid("A frame is a JSON object with a 'type'.");
  const record = value as Record<string, unknown>;
  const refs = {
    clientRef: typeof record.client_ref === "string" || typeof record.client_ref === "number" ? record.client_ref : undefined,
    jobId: typeof record.job_id === "string" ? record.job_id : undefined,
  };
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return invalid(`The frame nests deeper than ${MAX_JSON_DEPTH} levels.`, refs);
  const validate = typeof record.type === "string" ? validators[record.type as ClientFrame["type"]] : undefined;
  if (!validate) return invalid(`Invalid value for 'type': must be one of ${frameTypes}.`, refs, "type");
  if (!validate(value)) {
    const error = toHttpError(Object.assign(new Error("invalid frame"), { validation: validate.errors ?? [] }));
    return { ok: false, error, ...refs };
  }
  return { ok: true, frame: value as ClientFrame };
}

function invalid(message: string, refs: { clientRef?: ClientRef; jobId?: string } = {}, param: string | null = null): ParsedFrame {
  return { ok: false, error: new GatewayError("invalid_request", { message, param }), ...refs };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data as ArrayBuffer).toString("utf8");
}
