import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "@llmgw/config";
import { createProviderRegistry, readProvidersFile, routeModel, type ProviderRegistry } from "@llmgw/providers";
import { startMockUpstream, type MockUpstream } from "@llmgw/testing";

const dir = mkdtempSync(join(tmpdir(), "llmgw-providers-"));
let mock: MockUpstream;
const registries: ProviderRegistry[] = [];

beforeAll(async () => {
  mock = await startMockUpstream();
});
afterEach(async () => {
  await Promise.all(registries.splice(0).map((registry) => registry.close()));
});
afterAll(async () => {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
});

let fileCount = 0;
function providersFile(content: unknown): string {
  const path = join(dir, `providers-${fileCount++}.json`);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

function registry(env: Record<string, string>) {
  const created = createProviderRegistry(loadConfig(env), env);
  registries.push(created);
  return created;
}

describe("routeModel", () => {
  const table = {
    configured: new Set(["deepseek", "openai", "groq"]),
    listed: new Map([
      ["llama-3.1-8b-instant", "groq"],
      ["deepseek-chat", "groq"],
    ]),
  };
  it.each([
    ["deepseek-chat", { providerName: "deepseek", upstreamModel: "deepseek-chat" }],
    ["deepseek-reasoner", { providerName: "deepseek", upstreamModel: "deepseek-reasoner" }],
    ["deepseek-coder", { providerName: "deepseek", upstreamModel: "deepseek-coder" }],
    ["gpt-4o-mini", { providerName: "openai", upstreamModel: "gpt-4o-mini" }],
    ["o1", { providerName: "openai", upstreamModel: "o1" }],
    ["o3-mini", { providerName: "openai", upstreamModel: "o3-mini" }],
    ["o4-mini", { providerName: "openai", upstreamModel: "o4-mini" }],
    ["chatgpt-4o-latest", { providerName: "openai", upstreamModel: "chatgpt-4o-latest" }],
    ["llama-3.1-8b-instant", { providerName: "groq", upstreamModel: "llama-3.1-8b-instant" }],
    ["groq/mixtral-8x7b", { providerName: "groq", upstreamModel: "mixtral-8x7b" }],
    ["openai/gpt-4o", { providerName: "openai", upstreamModel: "gpt-4o" }],
    ["groq/meta-llama/llama-4", { providerName: "groq", upstreamModel: "meta-llama/llama-4" }],
    ["deepseek-v9", null],
    ["gpt4", null],
    ["unknown/model", null],
    ["groq/", null],
    ["/model", null],
    ["", null],
  ])("%s → %o", (model, route) => {
    expect(routeModel(model, table)).toEqual(route);
  });

  it("routes nothing to a provider that is not configured, except what another lists", () => {
    const onlyGroq = { configured: new Set(["groq"]), listed: table.listed };
    expect(routeModel("gpt-4o", onlyGroq)).toBeNull();
    expect(routeModel("deepseek-reasoner", onlyGroq)).toBeNull();
    expect(routeModel("deepseek-chat", onlyGroq)).toEqual({ providerName: "groq", upstreamModel: "deepseek-chat" });
    expect(routeModel("openai/gpt-4o", onlyGroq)).toBeNull();
  });
});

describe("readProvidersFile", () => {
  const good = [
    { name: "groq", base_url: "https://api.groq.com/openai/v1/", api_key_env: "GROQ_KEY", models: ["llama-3.1-8b-instant"] },
    { name: "local", base_url: "http://127.0.0.1:11434/v1", api_key_env: "LOCAL_KEY" },
  ];

  it("reads providers and their keys from the variables they name", () => {
    expect(readProvidersFile(providersFile(good), { GROQ_KEY: "gk-1", LOCAL_KEY: "lk-2" })).toEqual([
      { name: "groq", baseUrl: "https://api.groq.com/openai/v1", apiKey: "gk-1", models: ["llama-3.1-8b-instant"], weight: 1, priority: 0, modelMap: {} },
      { name: "local", baseUrl: "http://127.0.0.1:11434/v1", apiKey: "lk-2", models: [], weight: 1, priority: 0, modelMap: {} },
    ]);
  });

  const env = { GROQ_KEY: "gk-1", LOCAL_KEY: "lk-2" };
  it.each([
    ["a missing file", null, /^configuration error: PROVIDERS_FILE cannot be read \(.*missing\.json\): ENOENT$/],
    ["bad JSON", "[{", /^configuration error: PROVIDERS_FILE is not valid JSON \(/],
    ["an object", { name: "x" }, /PROVIDERS_FILE must hold a JSON array of providers/],
    ["a string entry", ["groq"], /PROVIDERS_FILE entry 0: must be an object$/],
    ["a name with a slash", [{ ...good[0], name: "a/b" }], /entry 0: "name" must be a word/],
    ["a bad base_url", [{ ...good[0], base_url: "ftp://x" }], /entry 0: \(groq\) "base_url" must be an http:\/\/ or https:\/\/ URL$/],
    ["no api_key_env", [{ ...good[0], api_key_env: undefined }], /entry 0: \(groq\) "api_key_env" must name/],
    ["an unset key variable", [{ ...good[0], api_key_env: "NOPE_KEY" }], /entry 0: \(groq\) the variable NOPE_KEY named by "api_key_env" is not set$/],
    ["bad models", [{ ...good[0], models: "llama" }], /entry 0: \(groq\) "models" must be an array of model names$/],
    ["an unknown field", [{ ...good[0], baseurl: "x" }], /entry 0: unknown field "baseurl"/],
    ["a zero weight", [{ ...good[0], weight: 0 }], /entry 0: \(groq\) "weight" must be a whole number from 1 to 10000$/],
    ["a fractional priority", [{ ...good[0], priority: 0.5 }], /entry 0: \(groq\) "priority" must be a whole number/],
    ["a bad model_map", [{ ...good[0], model_map: { a: 1 } }], /entry 0: \(groq\) "model_map" must map model names to model names$/],
  ])("rejects %s with a ConfigError naming PROVIDERS_FILE", (_label, content, message) => {
    const path = content === null ? join(dir, "missing.json") : providersFile(content);
    let error: unknown;
    try {
      readProvidersFile(path, env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe("PROVIDERS_FILE");
    expect((error as ConfigError).message).toMatch(message);
  });

  it("never quotes a key in its errors", () => {
    const path = providersFile([{ ...good[0], models: [1] }]);
    expect(() => readProvidersFile(path, env)).toThrow(ConfigError);
    try {
      readProvidersFile(path, env);
    } catch (error) {
      expect((error as Error).message).not.toContain("gk-1");
    }
  });
});

describe("createProviderRegistry", () => {
  it("configures nothing without keys", () => {
    const providers = registry({});
    expect(providers.names).toEqual([]);
    expect(providers.listModels()).toEqual([]);
    expect(providers.resolve("deepseek-chat")).toBeNull();
  });

  it("builds DeepSeek, OpenAI and extra providers from configuration, and lists their models", () => {
    const path = providersFile([{ name: "groq", base_url: mock.url, api_key_env: "GROQ_KEY", models: ["llama-3.1-8b-instant"] }]);
    const providers = registry({ DEEPSEEK_API_KEY: "dk", OPENAI_API_KEY: "ok", GROQ_KEY: "gk", PROVIDERS_FILE: path });
    expect(providers.names).toEqual(["deepseek", "openai", "groq"]);
    expect(providers.secrets).toEqual(["dk", "ok", "gk"]);
    const models = providers.listModels();
    expect(models.map((model) => `${model.owned_by}:${model.id}`)).toEqual([
      "deepseek:deepseek-chat",
      "deepseek:deepseek-reasoner",
      "deepseek:deepseek-coder",
      "openai:gpt-4o",
      "openai:gpt-4o-mini",
      "openai:gpt-4.1",
      "openai:gpt-4.1-mini",
      "openai:gpt-4.1-nano",
      "openai:o1",
      "openai:o3",
      "openai:o3-mini",
      "openai:o4-mini",
      "groq:llama-3.1-8b-instant",
    ]);
    expect(models[0]).toEqual({ id: "deepseek-chat", object: "model", created: 1_735_689_600, owned_by: "deepseek" });

    const deepseek = providers.resolve("deepseek-reasoner");
    expect(deepseek).toMatchObject({ providerName: "deepseek", upstreamModel: "deepseek-reasoner" });
    expect(deepseek?.provider).toBe(providers.get("deepseek"));
    expect(providers.resolve("o3-mini")?.provider.name).toBe("openai");
    expect(providers.resolve("groq/whatever")).toMatchObject({ providerName: "groq", upstreamModel: "whatever" });
    expect(providers.resolve("mistral-large")).toBeNull();
  });

  it("sends an extra provider's calls to its configured base URL with its own key", async () => {
    const path = providersFile([{ name: "local", base_url: mock.url, api_key_env: "LOCAL_KEY", models: ["mock-model"] }]);
    const providers = registry({ LOCAL_KEY: "lk-secret", PROVIDERS_FILE: path });
    const route = providers.resolve("mock-model");
    expect(route?.providerName).toBe("local");
    const completion = await route!.provider.createChatCompletion(
      { model: route!.upstreamModel, messages: [{ role: "user", content: "via file" }] },
      { signal: new AbortController().signal },
    );
    expect(completion.choices[0].message.content).toBe("Echo: via file");
    expect(mock.calls.at(-1)?.headers.authorization).toBe("Bearer lk-secret");
  });

  it("refuses an extra provider that takes a configured built-in name", () => {
    const path = providersFile([{ name: "deepseek", base_url: mock.url, api_key_env: "LOCAL_KEY" }]);
    expect(() => createProviderRegistry(loadConfig({ DEEPSEEK_API_KEY: "dk", PROVIDERS_FILE: path }), { LOCAL_KEY: "x" })).toThrow(
      'configuration error: PROVIDERS_FILE names provider "deepseek", which is already configured by its own variables',
    );
  });

  it("makes one channel per DeepSeek key, with stable ids and masked hints, never the key", () => {
    const first = "sk-first-0000000000a1b2";
    const providers = registry({ DEEPSEEK_API_KEY: `${first}, k2` });
    expect(providers.channels.map((channel) => [channel.id, channel.keyHint])).toEqual([
      ["deepseek-1", "sk-...a1b2"],
      ["deepseek-2", "..."],
    ]);
    expect(providers.secrets).toEqual([first, "k2"]);
    expect(providers.resolve("deepseek-chat")?.channels.map((route) => route.channel.id)).toEqual(["deepseek-1", "deepseek-2"]);
    expect(providers.listModels().filter((model) => model.id === "deepseek-chat")).toHaveLength(1);
  });

  it("lets several PROVIDERS_FILE entries serve one model, by priority, with weights and model_map", () => {
    const path = providersFile([
      { name: "main", base_url: mock.url, api_key_env: "K1", models: ["chat"], weight: 3, priority: 1 },
      { name: "main", base_url: mock.url, api_key_env: "K2", models: ["chat"], priority: 1 },
      { name: "backup", base_url: mock.url, api_key_env: "K3", model_map: { chat: "chat-v3", "deepseek-chat": "deepseek-v3" } },
    ]);
    const providers = registry({ K1: "k1", K2: "k2", K3: "k3", PROVIDERS_FILE: path, DEEPSEEK_API_KEY: "dk" });
    const chat = providers.resolve("chat");
    expect(chat?.providerName).toBe("main");
    expect(chat?.channels.map((route) => [route.channel.id, route.channel.weight, route.channel.priority, route.upstreamModel])).toEqual([
      ["main-1", 3, 1, "chat"],
      ["main-2", 1, 1, "chat"],
      ["backup-1", 1, 0, "chat-v3"],
    ]);
    const deepseek = providers.resolve("deepseek-chat");
    expect(deepseek?.providerName).toBe("deepseek");
    expect(deepseek?.channels.map((route) => [route.channel.id, route.upstreamModel])).toEqual([
      ["deepseek-1", "deepseek-chat"],
      ["backup-1", "deepseek-v3"],
    ]);
    expect(providers.resolve("backup/chat")?.channels.map((route) => [route.channel.id, route.upstreamModel])).toEqual([["backup-1", "chat-v3"]]);
    const ids = providers.listModels().map((model) => model.id);
    expect(ids.filter((id) => id === "chat")).toHaveLength(1);
    expect(ids.filter((id) => id === "deepseek-chat")).toHaveLength(1);
  });

  it("takes PROVIDERS_FILE entries named deepseek as DeepSeek's channels (the README's example)", () => {
    const path = providersFile([
      { name: "deepseek", base_url: mock.url, api_key_env: "A", weight: 3, priority: 1 },
      { name: "deepseek", base_url: mock.url, api_key_env: "B", weight: 1, priority: 1 },
      { name: "backup", base_url: mock.url, api_key_env: "C", model_map: { "deepseek-chat": "deepseek-v3" } },
    ]);
    const providers = registry({ A: "a", B: "b", C: "c", PROVIDERS_FILE: path });
    expect(providers.resolve("deepseek-chat")?.channels.map((route) => [route.channel.id, route.upstreamModel])).toEqual([
      ["deepseek-1", "deepseek-chat"],
      ["deepseek-2", "deepseek-chat"],
      ["backup-1", "deepseek-v3"],
    ]);
    expect(providers.resolve("deepseek-reasoner")?.channels.map((route) => route.channel.id)).toEqual(["deepseek-1", "deepseek-2"]);
    expect(providers.listModels().map((model) => model.id)).toEqual(["deepseek-chat", "deepseek-reasoner", "deepseek-coder"]);
  });
});
