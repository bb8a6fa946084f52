import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "@llmgw/config";
import { createModelLabeler, createProviderRegistry } from "@llmgw/providers";

const dir = mkdtempSync(join(tmpdir(), "llmgw-model-labels-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("createModelLabeler over a configured registry", () => {
  const file = join(dir, "providers.json");
  writeFileSync(file, JSON.stringify([{ name: "groq", base_url: "http://127.0.0.1:9/v1", api_key_env: "GROQ_KEY", models: ["llama-3.1-8b-instant", "meta-llama/llama-4"] }]));
  const env = { DEEPSEEK_API_KEY: "sk-ds-test", OPENAI_API_KEY: "sk-oa-test", PROVIDERS_FILE: file, GROQ_KEY: "gk-test" };
  const registry = createProviderRegistry(loadConfig(env), env);
  afterAll(() => registry.close());
  const label = createModelLabeler(registry.listModels());

  it.each([
    // Listed by configuration: their own label, under either spelling.
    ["deepseek", "deepseek-chat", "deepseek-chat"],
    ["deepseek", "deepseek/deepseek-chat", "deepseek-chat"],
    ["openai", "gpt-4o", "gpt-4o"],
    ["openai", "openai/gpt-4o-mini", "gpt-4o-mini"],
    ["groq", "llama-3.1-8b-instant", "llama-3.1-8b-instant"],
    ["groq", "meta-llama/llama-4", "meta-llama/llama-4"],
    ["groq", "groq/meta-llama/llama-4", "meta-llama/llama-4"],
    // Served by a pattern or by PROVIDER/MODEL, but listed nowhere: one `other` series.
    ["openai", "gpt-made-up-1", "other"],
    ["openai", "o3-my-own", "other"],
    ["deepseek", "anything-7", "other"],
    ["deepseek", "deepseek/anything-7", "other"],
    ["groq", "groq/whatever", "other"],
    // A listed name on a provider that does not list it, or an unknown provider.
    ["groq", "gpt-4o", "other"],
    ["deepseek", "deepseek/", "other"],
    ["nobody", "gpt-4o", "other"],
  ])("%s %s → %s", (provider, model, expected) => {
    expect(label(provider, model)).toBe(expected);
  });

  it("gives 10,000 made-up names one label between them", () => {
    const labels = new Set(Array.from({ length: 10_000 }, (_, i) => label(i % 2 ? "openai" : "deepseek", i % 2 ? `gpt-x-${i}` : `deepseek/x-${i}`)));
    expect([...labels]).toEqual(["other"]);
  });
});
