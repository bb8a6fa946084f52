import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, isPublicAddress, signWebhook, verifyWebhookSignature, webhookHeaders } from "@llmgw/jobs";

describe("webhook signatures (Standard Webhooks, key = UTF-8 bytes of WEBHOOK_SECRET)", () => {
  const secret = "s3cr3t-ünïcode";
  const body = '{"id":"job_1","object":"job","status":"succeeded"}';

  it("signs id.timestamp.body with HMAC-SHA256 in base64, prefixed v1,", () => {
    const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(`job_1.1764201600.${body}`).digest("base64");
    expect(signWebhook(secret, "job_1", 1_764_201_600, body)).toBe(`v1,${expected}`);
    expect(webhookHeaders(secret, "job_1", body, 1_764_201_600_999)).toEqual({
      "webhook-id": "job_1",
      "webhook-timestamp": "1764201600",
      "webhook-signature": `v1,${expected}`,
    });
  });

  it("verifies its own signature and refuses a changed body, another secret, or a stale timestamp", () => {
    const now = 1_764_201_600_000;
    const headers = webhookHeaders(secret, "job_1", body, now);
    expect(verifyWebhookSignature(secret, headers, body, { nowMs: now })).toBe(true);
    expect(verifyWebhookSignature(secret, { ...headers, "webhook-signature": `v1,bogus ${headers["webhook-signature"]}` }, body, { nowMs: now })).toBe(true);
    expect(verifyWebhookSignature(secret, headers, `${body} `, { nowMs: now })).toBe(false);
    expect(verifyWebhookSignature("other", headers, body, { nowMs: now })).toBe(false);
    expect(verifyWebhookSignature(secret, headers, body, { nowMs: now + 600_000 })).toBe(false);
    expect(verifyWebhookSignature(secret, { ...headers, "webhook-id": "job_2" }, body, { nowMs: now })).toBe(false);
  });
});

describe("webhook addresses", () => {
  it.each([
    "127.0.0.1",
    "127.255.0.9",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",
    "64:ff9b::127.0.0.1",
    "2002:7f00:1::",
    "::127.0.0.1",
    "not-an-address",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"])(
    "allows %s",
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );

  it("checks URLs before any lookup, and lets everything through with allowPrivate", () => {
    expect(checkWebhookUrl("https://hooks.example.com/x?y=1", { allowPrivate: false })).toMatchObject({ ok: true });
    expect(checkWebhookUrl("http://0x7f.1/", { allowPrivate: false })).toEqual({
      ok: false,
      reason: "must not point at a loopback, private or reserved address",
    });
    expect(checkWebhookUrl("http://LOCALHOST./", { allowPrivate: false })).toEqual({ ok: false, reason: "must not point at localhost" });
    expect(checkWebhookUrl("http://api.localhost/", { allowPrivate: false })).toEqual({ ok: false, reason: "must not point at localhost" });
    expect(checkWebhookUrl("http://127.0.0.1:9/", { allowPrivate: true })).toMatchObject({ ok: true });
    expect(checkWebhookUrl("javascript:alert(1)", { allowPrivate: true })).toEqual({ ok: false, reason: "must use http or https" });
    expect(checkWebhookUrl("https://example.com/#frag", { allowPrivate: true })).toEqual({ ok: false, reason: "must not contain a fragment" });
    expect(checkWebhookUrl(`https://example.com/${"a".repeat(2048)}`, { allowPrivate: true })).toEqual({
      ok: false,
      reason: "is longer than 2048 characters",
    });
  });
});
