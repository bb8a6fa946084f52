// `node scripts/console-screenshots.mjs`: the screenshots in docs/console/ (README "Console").
// Starts its own redis-server, the mock provider, the built API and a worker; makes some traffic
// and a week of sample usage history in the throwaway database; then photographs every console
// page in English and Chinese with headless Chromium (Debian's /usr/bin/chromium).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { build, root } from "./stack.mjs";

build();
const { startGateway, startMockUpstream, startRedisServer } = await import("@llmgw/testing");
const { openDatabase, createUsageRepository } = await import("@llmgw/store");
const { budgetPeriod, jobKeys } = await import("@llmgw/jobs");
const { Redis } = await import("ioredis");
const { chromium } = await import("playwright-core");

const out = join(root, "docs/console");
mkdirSync(out, { recursive: true });
const ADMIN_TOKEN = `screenshots-${crypto.randomUUID()}`;
const redis = await startRedisServer();
const mock = await startMockUpstream({ recordCalls: false });
let gateway;
let browser;

try {
  gateway = await startGateway({
    env: {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: "llmgw-screenshots",
      ADMIN_TOKEN,
      USE_DATABASE_AUTH: "true",
      DEEPSEEK_API_KEY: "screenshot-provider-key",
      DEEPSEEK_BASE_URL: mock.url,
    },
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
  });
  const keys = await seed();
  await sampleHistory(keys);
  await sampleBudgets(keys);
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: "Asia/Shanghai", deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${gateway.url}/console/sign-in`);
  await shoot(page, "en-sign-in");
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/overview$/);
  for (const language of ["en", "zh"]) {
    await page.getByTestId("language").selectOption(language);
    for (const name of ["overview", "keys", "usage", "jobs"]) {
      await page.goto(`${gateway.url}/console/${name}`);
      await ready(page, name);
      await shoot(page, `${language}-${name}`);
      if (name === "keys") {
        // The edit form of a key, over the page.
        await page.locator('tr[data-key-name="ada-ci"]').getByRole("button", { name: language === "zh" ? "编辑" : "Edit" }).click();
        await page.getByTestId("edit-key-dialog").locator("form").waitFor();
        await shoot(page, `${language}-keys-edit`, { viewportOnly: true });
        await page.keyboard.press("Escape");
        await page.getByTestId("edit-key-dialog").waitFor({ state: "hidden" });
      }
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${gateway.url}/console/overview`);
    await ready(page, "overview");
    await shoot(page, `${language}-overview-phone`);
    await page.setViewportSize({ width: 1280, height: 860 });
  }
  await page.getByTestId("language").selectOption("zh");
  await page.getByRole("button", { name: "退出登录" }).click();
  await page.waitForURL(/sign-in/);
  await shoot(page, "zh-sign-in");
  console.log(`screenshots written to ${out}`);
} finally {
  await browser?.close();
  await gateway?.stop();
  await mock.close();
  await redis.stop();
}

async function admin(method, path, body) {
  const response = await fetch(`${gateway.url}/api/v1/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return response.json();
}

/** Users, keys and real traffic through the gateway: JSON calls, a cache hit, an error, jobs (one left running). */
async function seed() {
  const ada = await admin("POST", "/users", { username: "ada", email: "ada@example.com" });
  const lin = await admin("POST", "/users", { username: "lin", email: "lin@example.com" });
  const keys = [
    await admin("POST", "/api-keys", { user_id: ada.id, key_name: "ada-laptop", rate_limit_per_minute: 120 }),
    await admin("POST", "/api-keys", { user_id: ada.id, key_name: "ada-ci", models: ["deepseek-chat"], expires_at: Math.floor(Date.now() / 1000) + 90 * 86_400 }),
    await admin("POST", "/api-keys", { user_id: lin.id, key_name: "lin-service", rate_limit_per_hour: 5000 }),
  ];
  const call = (key, model, content) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.api_key}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
    });
  for (let i = 0; i < 6; i++) await call(keys[i % 3], i % 2 ? "deepseek-coder" : "deepseek-chat", `question ${i}`);
  await call(keys[0], "deepseek-chat", "question 0"); // a cache hit
  await call(keys[2], "deepseek-chat", "refused [[mock:status=400]]");
  await fetch(`${gateway.url}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${keys[2].api_key}`, "content-type": "application/json" },
    body: JSON.stringify({ request: { model: "deepseek-reasoner", messages: [{ role: "user", content: "a long one [[mock:hang]]" }] } }),
  });
  // After the traffic: an allow-list on one key, and a key switched off.
  await admin("PATCH", `/api-keys/${keys[1].id}`, { allowed_ips: ["10.0.0.0/8", "2001:db8::/32"] });
  const old = await admin("POST", "/api-keys", { user_id: lin.id, key_name: "lin-old-script", allowed_ips: ["203.0.113.7"] });
  await admin("PATCH", `/api-keys/${old.id}`, { is_active: false });
  return keys.map((key) => ({ id: String(key.id), userId: String(key.user_id) }));
}

/** A week of made-up usage rows, so the charts have a shape (the screenshot database is thrown away). */
async function sampleHistory(keys) {
  const database = openDatabase(gateway.env.DATABASE_PATH);
  const usage = createUsageRepository(database);
  const now = Date.now();
  const models = ["deepseek-chat", "deepseek-coder", "deepseek-reasoner"];
  const entries = [];
  for (let hour = 1; hour < 7 * 24; hour++) {
    const busy = 3 + Math.round(4 * (1 + Math.sin((hour / 24) * 2 * Math.PI)));
    for (let n = 0; n < busy; n++) {
      const key = keys[(hour + n) % keys.length];
      entries.push({
        keyId: key.id,
        userId: key.userId,
        model: models[(hour * 7 + n) % (n % 4 === 0 ? 3 : 2)],
        provider: "deepseek",
        promptTokens: 40 + ((hour * 13 + n * 7) % 200),
        completionTokens: 60 + ((hour * 17 + n * 11) % 400),
        latencyMs: 300 + ((hour * 31 + n * 3) % 900),
        status: (hour + n) % 23 === 0 ? 502 : 200,
        cacheHit: (hour + n) % 6 === 0,
        requestId: crypto.randomUUID(),
        kind: n % 3 === 0 ? "stream" : "sync",
        createdAt: now - hour * 3_600_000 - n * 60_000,
      });
    }
  }
  usage.recordAll(entries);
  database.close();
}

/**
 * Budgets on some keys and users, and this day's and month's spending as the worker counts it
 * (its Redis counters, set here to round figures): one key near its budget, one used up.
 */
async function sampleBudgets(keys) {
  const [laptop, ci, service] = keys;
  await admin("PATCH", `/api-keys/${laptop.id}`, { token_budget_daily: 1000, max_concurrent: 4 });
  await admin("PATCH", `/api-keys/${ci.id}`, { token_budget_monthly: 50000 });
  await admin("PATCH", `/api-keys/${service.id}`, { token_budget_daily: 2000, token_budget_monthly: 60000, max_concurrent: 8 });
  await admin("PATCH", `/users/${laptop.userId}`, { token_budget_monthly: 200000 });
  await admin("PATCH", `/users/${service.userId}`, { token_budget_daily: 5000 });
  const spent = [
    ["key", laptop.id, 812, 14520],
    ["key", ci.id, 1240, 21300],
    ["key", service.id, 2046, 38900],
    ["user", laptop.userId, 2052, 35820],
    ["user", service.userId, 2046, 38900],
  ];
  const counters = jobKeys("llmgw-screenshots");
  const client = new Redis(redis.url);
  for (const [scope, id, today, month] of spent) {
    await client.set(counters.spending(scope, id, budgetPeriod("daily", Date.now()).label), today, "EX", 86_400);
    await client.set(counters.spending(scope, id, budgetPeriod("monthly", Date.now()).label), month, "EX", 86_400);
  }
  client.disconnect();
}

async function ready(page, name) {
  if (name === "overview") await page.locator(".chart canvas").first().waitFor();
  if (name === "keys") {
    await page.getByTestId("keys-table").locator("tbody tr").first().waitFor();
    // The spending is read per key and user after the lists.
    await page.getByTestId("keys-table").getByTestId("budget-daily").first().waitFor();
    await page.getByTestId("users-table").getByTestId("budget-daily").first().waitFor();
  }
  if (name === "usage") await page.getByTestId("usage-table").locator("tbody tr").first().waitFor();
  if (name === "jobs") {
    await page.getByTestId("jobs-table").locator("tbody tr").first().waitFor();
    await page.getByTestId("jobs-table").locator("tbody tr").first().getByRole("button").click();
    await page.getByTestId("job-events").locator("li").first().waitFor();
  }
  await page.evaluate(() => document.fonts.ready);
}

/**
 * The page from the top, at most 1500 px of it (the usage table alone runs to a thousand rows);
 * or only what the window shows, for a dialog (its backdrop covers the window, not the page).
 */
async function shoot(page, name, { viewportOnly = false } = {}) {
  const { width, height: windowHeight } = page.viewportSize();
  const height = viewportOnly ? windowHeight : Math.min(1500, await page.evaluate(() => document.documentElement.scrollHeight));
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true, clip: { x: 0, y: 0, width, height } });
}
