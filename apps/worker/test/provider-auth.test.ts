import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "@llmgw/logger";
import { ProviderError } from "@llmgw/providers";
import { createProviderAuthAlarm } from "../src/provider-auth-alarm.js";
import { failureOf } from "../src/retry-policy.js";

const KEY = "sk-refused-0123456789abcdef";
const refusedBy = (provider: string, status: number) =>
  new ProviderError(`${provider} answered ${status}`, {
    provider,
    status,
    retryable: false,
    detail: { message: `Incorrect API key provided: ${KEY}`, type: "invalid_request_error", code: "invalid_api_key" },
  });

describe("failureOf a provider's 401/403", () => {
  it.each([401, 403])("answers %i as 502 provider_auth_error naming the provider, without the upstream's text", (status) => {
    const failure = failureOf(refusedBy("deepseek", status), 1);
    expect(failure).toEqual({
      status: 502,
      error: {
        message: `The provider "deepseek" refused the gateway's credentials (HTTP ${status}). This is not about your API key: the gateway's operator has to fix its key for "deepseek".`,
        type: "upstream_error",
        param: null,
        code: "provider_auth_error",
      },
    });
    expect(JSON.stringify(failure)).not.toContain(KEY);
  });

  it("still passes another 4xx through with its status and detail", () => {
    const error = new ProviderError("deepseek answered 422", { provider: "deepseek", status: 422, retryable: false, detail: { message: "bad temperature", param: "temperature" } });
    expect(failureOf(error, 1)).toEqual({ status: 422, error: { message: "bad temperature", type: "invalid_request_error", param: "temperature", code: null } });
  });
});

describe("the provider auth alarm", () => {
  const capture = () => {
    const lines: { level: number; provider?: string; msg: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    return { lines, logger: createLogger({ level: "info", destination }) };
  };
  it("logs once per provider at error level, whatever the call, and never the key", () => {
    const { lines, logger } = capture();
    const alarm = createProviderAuthAlarm(logger);
    for (let i = 0; i < 3; i++) {
      alarm.observe(refusedBy("deepseek", 401));
      alarm.observe(refusedBy("openai", 403));
    }
    expect(lines.map(({ level, provider }) => ({ level, provider }))).toEqual([
      { level: 50, provider: "deepseek" },
      { level: 50, provider: "openai" },
    ]);
    expect(JSON.stringify(lines)).not.toContain(KEY);
  });

  it("ignores every other failure", () => {
    const { lines, logger } = capture();
    const alarm = createProviderAuthAlarm(logger);
    alarm.observe(new ProviderError("deepseek answered 500", { provider: "deepseek", status: 500, retryable: true }));
    alarm.observe(new Error("socket hang up"));
    expect(lines).toEqual([]);
  });
});
