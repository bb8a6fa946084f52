import { describe, expect, it } from "vitest";
import { parseRetryAfterMs, parseUpstreamErrorBody } from "@llmgw/providers";

describe("parseUpstreamErrorBody", () => {
  it.each([
    [
      "the OpenAI shape",
      '{"error":{"message":"bad","type":"invalid_request_error","param":"model","code":"model_not_found"}}',
      { message: "bad", type: "invalid_request_error", param: "model", code: "model_not_found" },
    ],
    ["a numeric code", '{"error":{"message":"slow down","code":429}}', { message: "slow down", type: null, param: null, code: "429" }],
    ["an error string", '{"error":"Service Unavailable"}', { message: "Service Unavailable" }],
    ["a top-level message", '{"message":"Invalid token","code":"auth"}', { message: "Invalid token", type: null, param: null, code: "auth" }],
    ["a FastAPI detail", '{"detail":"Not Found"}', { message: "Not Found", type: null, param: null, code: null }],
    ["an array of errors", '[{"error":{"message":"quota","status":"RESOURCE_EXHAUSTED"}}]', { message: "quota", type: null, param: null, code: null }],
    ["plain text", "  upstream connect error  \n", { message: "upstream connect error" }],
    ["JSON without a message", '{"ok":false}', { message: '{"ok":false}' }],
    ["an empty body", "", {}],
  ])("reads %s", (_label, body, expected) => {
    expect(parseUpstreamErrorBody(body)).toEqual(expected);
  });

  it("cuts a very long body", () => {
    expect(parseUpstreamErrorBody("x".repeat(5000)).message).toBe(`${"x".repeat(1000)}…`);
  });
});

describe("parseRetryAfterMs", () => {
  const headers = (values: Record<string, string>) => (name: string) => values[name];
  const now = Date.parse("2025-01-01T00:00:00Z");

  it.each([
    [{ "retry-after-ms": "1500" }, 1500],
    [{ "retry-after-ms": "20.4", "retry-after": "9" }, 20],
    [{ "retry-after": "3" }, 3000],
    [{ "retry-after": "0.5" }, 500],
    [{ "retry-after": "Wed, 01 Jan 2025 00:00:07 GMT" }, 7000],
    [{ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }, 0],
    [{ "retry-after": "soon" }, undefined],
    [{ "retry-after-ms": "-1" }, undefined],
    [{}, undefined],
  ])("%o gives %s", (values, expected) => {
    expect(parseRetryAfterMs(headers(values), now)).toBe(expected);
  });
});
