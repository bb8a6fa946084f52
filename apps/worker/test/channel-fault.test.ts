import { describe, expect, it } from "vitest";
import { ProviderError } from "@llmgw/providers";
import { backoffDelay, channelFaultOf, markFailover } from "../src/retry-policy.js";

const failure = (status: number | undefined, options: { code?: string; retryAfterMs?: number } = {}) =>
  new ProviderError(`status ${status}`, {
    provider: "p",
    status,
    retryable: status === undefined || status === 408 || status === 429 || status >= 500,
    retryAfterMs: options.retryAfterMs,
    detail: { code: options.code },
  });

describe("what a failed try says of its channel", () => {
  it.each([
    [401, {}, { kind: "disable", reason: "key_refused" }],
    [403, {}, { kind: "disable", reason: "key_refused" }],
    [402, {}, { kind: "disable", reason: "no_credit" }],
    [429, { code: "insufficient_quota" }, { kind: "disable", reason: "no_credit" }],
    [429, { retryAfterMs: 2000 }, { kind: "failure", retryAfterMs: 2000 }],
    [500, {}, { kind: "failure", retryAfterMs: undefined }],
    [408, {}, { kind: "failure", retryAfterMs: undefined }],
    [undefined, {}, { kind: "failure", retryAfterMs: undefined }],
    [400, {}, null],
    [404, {}, null],
    [422, {}, null],
  ])("%s %o -> %o", (status, options, fault) => {
    expect(channelFaultOf(failure(status, options))).toEqual(fault);
  });

  it("a try failing over to another channel is retried without a wait, even after a Retry-After", () => {
    const error = failure(429, { retryAfterMs: 5000 });
    expect(backoffDelay(1, error)).toBe(5000);
    markFailover(error);
    expect(backoffDelay(1, error)).toBe(0);
  });
});
