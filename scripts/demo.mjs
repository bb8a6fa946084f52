// `npm run demo`: the whole gateway without a provider key. A local mock OpenAI-compatible
// provider stands in for DeepSeek; the gateway runs as `npm start` runs it; the official openai
// client then makes one JSON and one streamed call. `--once` stops after the calls (for tests).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, ensureRedis, environment, redisAnswers, runProcesses, say } from "./stack.mjs";

build();
const { loadConfig } = await import("@llmgw/config");
const { startMockUpstream } = await import("@llmgw/testing");
const { openSqliteStore } = await import("@llmgw/store");
const { default: OpenAI } = await import("openai");

const once = process.argv.includes("--once");
const base = environment();
const mock = await startMockUpstream({ recordCalls: false });
const databasePath = join(mkdtempSync(join(tmpdir(), "llmgw-demo-")), "demo.db");

// A real client key in a throwaway database, made as `npm run admin -- create-key` would.
const store = openSqliteStore(databasePath);
const user = await store.users.create({ username: "demo", email: "demo@example.com" });
const { api_key: apiKey } = await store.apiKeys.create({ user_id: user.id, key_name: "demo" });
await store.close();

const env = {
  ...base,
  DEEPSEEK_API_KEY: "demo-provider-key",
  DEEPSEEK_BASE_URL: mock.url,
  DATABASE_PATH: databasePath,
  // The demo's key is in its own SQLite file, whatever DATABASE_URL the environment names.
  DATABASE_URL: "",
  QUEUE_PREFIX: base.QUEUE_PREFIX ?? "llmgw-demo",
  USE_DATABASE_AUTH: "true",
  WORKERS: base.WORKERS ?? "1",
  LOG_LEVEL: base.LOG_LEVEL ?? "warn",
};
const config = loadConfig(env);
const redisChild = await ensureRedis(config.redisUrl);
const stack = runProcesses({ env, workers: config.workers, redisChild });
const gateway = `http://127.0.0.1:${config.port}`;

for (let i = 0; ; i++) {
  const ready = await fetch(`${gateway}/readyz`).then((r) => r.ok, () => false);
  if (ready) break;
  if (i > 100) {
    say(`the API did not become ready at ${gateway}`);
    await stack.stop(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
if (!(await redisAnswers(config.redisUrl))) await stack.stop(1);

const client = new OpenAI({ apiKey, baseURL: `${gateway}/v1` });
const messages = [{ role: "user", content: "Hello from the llm-gateway demo!" }];
const answer = await client.chat.completions.create({ model: "deepseek-chat", messages });
console.log(`\nJSON answer (${answer.usage?.total_tokens} tokens): ${answer.choices[0].message.content}`);
process.stdout.write("Streamed answer: ");
const stream = await client.chat.completions.create({
  model: "deepseek-chat",
  messages: [{ role: "user", content: "Stream five words [[mock:words=5]]" }],
  stream: true,
});
for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
console.log("\n");

if (once) {
  await mock.close();
  await stack.stop(0);
}
console.log(`The gateway runs at ${gateway} with a mock provider (model deepseek-chat). Try:

  export GATEWAY_KEY=${apiKey}
  curl ${gateway}/v1/chat/completions -H "Authorization: Bearer $GATEWAY_KEY" \\
    -H "Content-Type: application/json" -d '{"model":"deepseek-chat","messages":[{"role":"user","content":"Hi"}]}'

Ctrl-C stops everything.`);
