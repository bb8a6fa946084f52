import { randomUUID } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./support/headless-chromium.js";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// Issue 16: the web console in headless Chromium against the built API and worker processes,
// their own Redis prefix, a fresh SQLite file and the mock provider.
const ADMIN_TOKEN = `admin-${randomUUID()}`;
const PAGES = ["overview", "keys", "usage", "jobs"] as const;
const username = `ada-${randomUUID().slice(0, 8)}`;
const keyName = `console-key-${randomUUID().slice(0, 8)}`;
const budgetKeyName = `budget-key-${randomUUID().slice(0, 8)}`;

let stack: MockedGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
let apiKey: string;
let budgetKey: { id: number; secret: string };
/** Every console error and uncaught page error, which must stay empty. */
const pageErrors: string[] = [];

beforeAll(async () => {
  stack = await startMockedGateway({ env: { USE_DATABASE_AUTH: "true", ADMIN_TOKEN, CACHE_ENABLED: "false" } });
  base = `${stack.gateway.url}/console`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Asia/Shanghai" });
  page = await context.newPage();
  // Below the tests' own time limit, so a missing element fails with Playwright's account of it.
  page.setDefaultTimeout(15_000);
  page.on("console", (message) => message.type() === "error" && pageErrors.push(message.text()));
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const ask = (key: string, content: string) =>
  fetch(`${stack.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "deepseek-chat", messages: [{ role: "user", content }] }),
  });

/** Prompt + completion tokens of a successful completion, as the budgets count them. */
const tokensOf = async (response: Response) => {
  expect(response.status).toBe(200);
  return ((await response.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
};

/** A number as the English console writes it (1,000). */
const en = (value: number) => new Intl.NumberFormat("en-GB").format(value);

const adminGet = async (path: string) =>
  (await (await fetch(`${stack.gateway.url}/api/v1/admin${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as Record<string, any>;

describe("the console, unauthenticated", () => {
  it.each(PAGES)("/console/%s leads to the sign-in page", async (name) => {
    await page.goto(`${base}/${name}`);
    await page.waitForURL(`${base}/sign-in?next=${name}`);
    await page.getByLabel("Admin token").waitFor();
    expect(await page.getByRole("navigation").count()).toBe(0);
  });
});

describe("the console, signed in", () => {
  it("signs in from the keyboard alone, into an HttpOnly SameSite=Strict cookie and nowhere else", async () => {
    await page.goto(`${base}/overview`);
    await page.waitForURL(/sign-in/);
    await page.getByLabel("Admin token").focus();
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${base}/overview`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "llmgw_console", httpOnly: true, sameSite: "Strict", secure: false });
    expect(cookie.value).not.toContain(ADMIN_TOKEN);
    // Evaluated in the page (a string: the tests are compiled without the DOM's types).
    const stored = await page.evaluate<string>("JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie + location.href");
    expect(stored).not.toContain(ADMIN_TOKEN);
  });

  it("creates a user and a key, shown once with a copy button and a warning", async () => {
    await page.getByRole("link", { name: "Users and keys" }).click();
    await page.waitForURL(`${base}/keys`);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Email").fill(`${username}@example.com`);
    await page.getByRole("button", { name: "New user" }).click();
    await page.getByTestId("users-table").getByText(username, { exact: true }).waitFor();

    await page.locator("select[name=user_id]").selectOption({ label: username });
    await page.getByLabel("Name", { exact: true }).fill(keyName);
    await page.getByRole("button", { name: "New key" }).click();
    const dialog = page.getByTestId("new-key-dialog");
    await dialog.getByText("it is shown this once").waitFor();
    await dialog.getByRole("button", { name: "Copy" }).waitFor();
    apiKey = (await dialog.getByTestId("new-key").textContent())!.trim();
    expect(apiKey.length).toBeGreaterThan(30);
    await dialog.getByRole("button", { name: "Close" }).click();
    await page.locator(`tr[data-key-name="${keyName}"]`).waitFor();
    // Once closed, the key is nowhere on the page.
    expect(await page.content()).not.toContain(apiKey);
  }, 45_000);

  it("shows a request made with that key in the overview and the usage table", async () => {
    const response = await ask(apiKey, "hello from the console test");
    expect(response.status).toBe(200);
    // The usage log is written when the job ends (through the usage stream); wait for it there, then look.
    await expect.poll(async () => (await adminGet("/usage")).data.length, { timeout: 10_000 }).toBe(1);

    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("by-key").getByText(keyName).waitFor();
    await expect.poll(() => page.getByTestId("total-requests").textContent()).toBe("1");
    await page.locator(".chart canvas").first().waitFor();

    await page.getByRole("link", { name: "Usage" }).click();
    await page.waitForURL(`${base}/usage`);
    const row = page.getByTestId("usage-table").locator("tbody tr", { hasText: keyName });
    await row.waitFor();
    expect(await row.textContent()).toContain("deepseek-chat");
    const keyFilter = page.locator("select[name=key_id]");
    await keyFilter.selectOption({ label: (await keyFilter.locator("option", { hasText: keyName }).textContent())! });
    await page.getByRole("button", { name: "Apply" }).click();
    await row.waitFor();
    const download = page.waitForEvent("download");
    await page.getByRole("button", { name: "Export CSV" }).click();
    const csv = await (await download).createReadStream();
    const text = await new Promise<string>((resolve) => {
      let body = "";
      csv.on("data", (chunk) => (body += chunk));
      csv.on("end", () => resolve(body));
    });
    expect(text.split("\r\n")[0]).toBe("created_at,key_id,key_name,user_id,model,provider,status,prompt_tokens,completion_tokens,latency_ms,cache_hit,kind,job_id,request_id");
    expect(text).toContain(`,${keyName},`);
  }, 45_000);

  it("lists the job, opens it with its events, and cancels a running one", async () => {
    const submitted = await fetch(`${stack.gateway.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ request: { model: "deepseek-chat", messages: [{ role: "user", content: "wait [[mock:hang]]" }] } }),
    });
    const job = (await submitted.json()) as { id: string };
    await page.getByRole("link", { name: "Jobs" }).click();
    await page.waitForURL(`${base}/jobs`);
    const jobs = page.getByTestId("jobs-table");
    await jobs.locator("tbody tr", { hasText: "succeeded" }).first().waitFor();
    await jobs.locator("tbody tr", { hasText: job.id.slice(0, 14) }).getByRole("button").click();
    const detail = page.getByTestId("job-detail");
    await detail.getByText("job.queued").waitFor();
    await detail.getByRole("button", { name: "Cancel job" }).click();
    await page.getByTestId("confirm-dialog").getByRole("button", { name: "Cancel job" }).click();
    await detail.getByTestId("job-status").getByText("cancelled").waitFor();
    await detail.getByTestId("job-events").getByText("job.cancelled").waitFor();
    expect((await adminGet(`/jobs/${job.id}`)).status).toBe("cancelled");
  }, 45_000);

  it("edits the key's per-minute limit and allowed IPs, which take effect at once", async () => {
    await page.getByRole("link", { name: "Users and keys" }).click();
    await page.waitForURL(`${base}/keys`);
    const row = page.locator(`tr[data-key-name="${keyName}"]`);
    const dialog = page.getByTestId("edit-key-dialog");
    const stored = async () => (await adminGet("/api-keys")).data.find((key: { key_name: string }) => key.key_name === keyName);
    expect(await stored()).toMatchObject({ rate_limit_per_minute: null, allowed_ips: null, is_active: true });

    await row.getByRole("button", { name: "Edit" }).click();
    await dialog.getByLabel("Requests per minute").fill("42");
    await dialog.getByLabel("Allowed IPs").fill("203.0.113.0/24\n2001:db8::/32");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.getByText("203.0.113.0/24, 2001:db8::/32").waitFor();
    expect(await stored()).toMatchObject({ rate_limit_per_minute: 42, allowed_ips: ["203.0.113.0/24", "2001:db8::/32"] });
    // This test's requests come from 127.0.0.1, which the list leaves out.
    await expect.poll(async () => (await ask(apiKey, "from outside the list")).status, { timeout: 6_000 }).toBe(403);
    const outside = await ask(apiKey, "from outside the list");
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe("ip_not_allowed");

    // Only the changed field is sent; the limit stays.
    await row.getByRole("button", { name: "Edit" }).click();
    expect(await dialog.getByLabel("Requests per minute").inputValue()).toBe("42");
    await dialog.getByLabel("Allowed IPs").fill("127.0.0.1, ::1");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.getByText("127.0.0.1, ::1").waitFor();
    expect(await stored()).toMatchObject({ rate_limit_per_minute: 42, allowed_ips: ["127.0.0.1", "::1"] });
    await expect.poll(async () => (await ask(apiKey, "from inside the list")).status, { timeout: 6_000 }).toBe(200);
    // The gateway applies the new limit: the minute window (42) binds before the hour's default (1000).
    const limited = await ask(apiKey, "under the new limit");
    expect(limited.status).toBe(200);
    expect(limited.headers.get("x-ratelimit-limit-requests")).toBe("42");
  }, 45_000);

  it("switches the key off (the gateway answers 401) and on again from the keyboard", async () => {
    const row = page.locator(`tr[data-key-name="${keyName}"]`);
    await row.getByRole("button", { name: "Disable" }).click();
    await row.getByTestId("key-status").getByText("disabled", { exact: true }).waitFor();
    expect((await adminGet("/api-keys")).data.find((key: { key_name: string }) => key.key_name === keyName).is_active).toBe(false);
    await expect.poll(async () => (await ask(apiKey, "while switched off")).status, { timeout: 6_000 }).toBe(401);

    await row.getByRole("button", { name: "Enable" }).focus();
    await page.keyboard.press("Enter");
    await row.getByTestId("key-status").getByText("active", { exact: true }).waitFor();
    await row.getByRole("button", { name: "Disable" }).waitFor();
    await expect.poll(async () => (await ask(apiKey, "switched on again")).status, { timeout: 6_000 }).toBe(200);
  }, 45_000);

  it("switches the user off, which refuses their key, and on again", async () => {
    const user = page.getByTestId("users-table").locator(`tr[data-username="${username}"]`);
    const keyStatus = page.locator(`tr[data-key-name="${keyName}"]`).getByTestId("key-status");
    await user.getByRole("button", { name: "Disable" }).click();
    await user.getByTestId("user-status").getByText("disabled", { exact: true }).waitFor();
    await keyStatus.getByText("user disabled", { exact: true }).waitFor();
    expect((await adminGet("/users")).data.find((entry: { username: string }) => entry.username === username).is_active).toBe(false);
    await expect.poll(async () => (await ask(apiKey, "owner switched off")).status, { timeout: 6_000 }).toBe(401);

    await user.getByRole("button", { name: "Enable" }).click();
    await user.getByTestId("user-status").getByText("active", { exact: true }).waitFor();
    await keyStatus.getByText("active", { exact: true }).waitFor();
    await expect.poll(async () => (await ask(apiKey, "owner switched on")).status, { timeout: 6_000 }).toBe(200);
  }, 45_000);

  it("revokes the key after a confirmation, and the API refuses it", async () => {
    await page.getByRole("link", { name: "Users and keys" }).click();
    const row = page.locator(`tr[data-key-name="${keyName}"]`);
    await row.getByRole("button", { name: "Revoke" }).click();
    const confirm = page.getByTestId("confirm-dialog");
    await confirm.getByText(keyName).waitFor();
    await confirm.getByRole("button", { name: "Revoke" }).click();
    await row.waitFor({ state: "detached" });
    await expect.poll(async () => (await ask(apiKey, "after revocation")).status, { timeout: 6_000 }).toBe(401);
  }, 45_000);

  it("creates a key with a daily token budget and max concurrent, stored as typed", async () => {
    const form = page.getByRole("form", { name: "New key" });
    await form.locator("select[name=user_id]").selectOption({ label: username });
    await form.getByLabel("Name", { exact: true }).fill(budgetKeyName);
    await form.getByLabel("Daily token budget").fill("1000");
    await form.getByLabel("Max concurrent requests").fill("2");
    await form.getByRole("button", { name: "New key" }).click();
    const dialog = page.getByTestId("new-key-dialog");
    const secret = (await dialog.getByTestId("new-key").textContent())!.trim();
    await dialog.getByRole("button", { name: "Close" }).click();
    const row = page.locator(`tr[data-key-name="${budgetKeyName}"]`);
    await row.getByText("≤ 2 at once").waitFor();
    // Nothing spent yet: the budget with 0 used.
    await row.getByTestId("budget-daily").getByText("0 / 1,000 today").waitFor();

    const stored = (await adminGet("/api-keys")).data.find((key: { key_name: string }) => key.key_name === budgetKeyName);
    expect(stored).toMatchObject({ token_budget_daily: 1000, token_budget_monthly: null, max_concurrent: 2, rate_limit_per_minute: null });
    budgetKey = { id: stored.id, secret };
  }, 45_000);

  it("shows the key's spending after requests through the gateway, and marks a budget used up", async () => {
    const spent = (await tokensOf(await ask(budgetKey.secret, "spend some tokens"))) + (await tokensOf(await ask(budgetKey.secret, "and a few more")));
    // The worker counts a request's tokens when its job ends, before the gateway answers.
    expect((await adminGet(`/api-keys/${budgetKey.id}`)).spending.daily).toMatchObject({ tokens: spent, budget: 1000 });

    const row = page.locator(`tr[data-key-name="${budgetKeyName}"]`);
    await page.getByRole("button", { name: "Refresh" }).click();
    const daily = row.getByTestId("budget-daily");
    await daily.getByText(`${en(spent)} / 1,000 today`).waitFor();
    expect(await daily.getByRole("meter").getAttribute("aria-valuenow")).toBe(String(spent));
    // No monthly budget: the month's spending as a plain figure.
    await row.getByText(`${en(spent)} this month`).waitFor();
    expect(await row.getByTestId("key-status").textContent()).toBe("active");

    // Lowered to what is spent, through the edit form: used up, in the table and at the gateway.
    await row.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByTestId("edit-key-dialog");
    await edit.getByText(`${en(spent)} used today`).waitFor();
    expect(await edit.getByLabel("Max concurrent requests").inputValue()).toBe("2");
    await edit.getByLabel("Daily token budget").fill(String(spent));
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "hidden" });
    await daily.getByText("used up").waitFor();
    await daily.getByText(/^resets /).waitFor();
    await row.getByTestId("key-status").getByText("over budget", { exact: true }).waitFor();
    expect((await adminGet(`/api-keys/${budgetKey.id}`)).token_budget_daily).toBe(spent);
    await expect.poll(async () => (await ask(budgetKey.secret, "over the budget")).status, { timeout: 6_000 }).toBe(429);
    const refused = await ask(budgetKey.secret, "over the budget");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("insufficient_quota");
  }, 45_000);

  it("edits a user's budget, changing only that, and shows the user's spending", async () => {
    const user = page.getByTestId("users-table").locator(`tr[data-username="${username}"]`);
    await user.getByTestId("user-budget").getByText("no budget").waitFor();
    await user.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByTestId("edit-user-dialog");
    expect(await dialog.getByLabel("Daily token budget").inputValue()).toBe("");
    await dialog.getByLabel("Monthly token budget").fill("500000");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });

    const userId = (await adminGet("/users")).data.find((entry: { username: string }) => entry.username === username).id as number;
    const stored = await adminGet(`/users/${userId}`);
    expect(stored).toMatchObject({ token_budget_daily: null, token_budget_monthly: 500000, is_active: true });
    // Every key of the user counts: the first key's requests and the budget key's.
    expect(stored.spending.monthly.tokens).toBeGreaterThan((await adminGet(`/api-keys/${budgetKey.id}`)).spending.monthly.tokens);
    await user.getByTestId("budget-monthly").getByText(`${en(stored.spending.monthly.tokens)} / 500,000 this month`).waitFor();
    await user.getByText(`${en(stored.spending.daily.tokens)} today`).waitFor();

    // A daily budget the user has spent: used up, and a key of theirs without a budget of its own says why it is refused.
    const plainName = `plain-${randomUUID().slice(0, 8)}`;
    const plain = await fetch(`${stack.gateway.url}/api/v1/admin/api-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: userId, key_name: plainName }),
    });
    expect(plain.status).toBe(201);
    await user.getByRole("button", { name: "Edit" }).click();
    expect(await dialog.getByLabel("Monthly token budget").inputValue()).toBe("500000");
    await dialog.getByLabel("Daily token budget").fill(String(stored.spending.daily.tokens));
    await dialog.getByLabel("Monthly token budget").fill("");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    await user.getByTestId("budget-daily").getByText("used up").waitFor();
    expect(await adminGet(`/users/${userId}`)).toMatchObject({ token_budget_daily: stored.spending.daily.tokens, token_budget_monthly: null });
    await page.getByRole("button", { name: "Refresh" }).click();
    const plainRow = page.locator(`tr[data-key-name="${plainName}"]`);
    await plainRow.getByTestId("key-status").getByText("user over budget", { exact: true }).waitFor();
    await plainRow.getByTestId("key-budget").getByText("no budget").waitFor();

    // Emptied again: no budget.
    await user.getByRole("button", { name: "Edit" }).click();
    await dialog.getByLabel("Daily token budget").fill("");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "hidden" });
    await user.getByTestId("user-budget").getByText("no budget").waitFor();
    await plainRow.getByTestId("key-status").getByText("active", { exact: true }).waitFor();
    expect(await adminGet(`/users/${userId}`)).toMatchObject({ token_budget_daily: null, token_budget_monthly: null });
  }, 45_000);

  it("switches to Chinese, remembers it, and fits a phone's width", async () => {
    await page.getByTestId("language").selectOption("zh");
    await page.getByRole("link", { name: "概览" }).waitFor();
    await page.reload();
    await page.getByRole("link", { name: "用户与密钥" }).waitFor();
    expect(await page.evaluate<string>("document.documentElement.lang")).toBe("zh-CN");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("link", { name: "概览" }).click();
    await page.getByRole("heading", { name: "概览" }).waitFor();
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("signs out: the session ends on the server, and the pages lead to sign-in again", async () => {
    const [cookie] = await context.cookies();
    await page.getByRole("button", { name: "退出登录" }).click();
    await page.waitForURL(/\/console\/sign-in/);
    const refused = await fetch(`${stack.gateway.url}/api/v1/admin/users`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    expect(refused.status).toBe(401);
    await page.goto(`${base}/usage`);
    await page.waitForURL(`${base}/sign-in?next=usage`);
  });

  it("wrote no error to the browser console", () => {
    expect(pageErrors).toEqual([]);
  });
});

describe("a session ended elsewhere", () => {
  it("brings the open console back to sign-in at its next call", async () => {
    await page.goto(`${base}/sign-in`);
    await page.getByLabel("管理员令牌").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "登录" }).click();
    // The keys page reads once and does not poll, so the next call is the one this test makes.
    await page.getByRole("link", { name: "用户与密钥" }).click();
    await page.getByTestId("keys-table").waitFor();
    // The budget key's spending is read after the list: wait for it, so no read is in flight when the session ends.
    await page.locator(`tr[data-key-name="${budgetKeyName}"]`).getByText("已用完").waitFor();
    // Another tab signs out: the session is gone from Redis, this page does not know yet.
    const cookie = (await context.cookies()).find((entry) => entry.name === "llmgw_console")!;
    const out = await fetch(`${stack.gateway.url}/console/api/session`, {
      method: "DELETE",
      headers: { cookie: `${cookie.name}=${cookie.value}`, "x-console-csrf": "1" },
    });
    expect(out.status).toBe(204);
    await page.getByRole("link", { name: "任务" }).click();
    await page.waitForURL(`${base}/sign-in?next=jobs`);
    await page.getByLabel("管理员令牌").waitFor();
  });
});

describe("a value the API refuses", () => {
  // After the console-error check above: the browser logs the 400 it answers as an error.
  it("shows the API's message next to the field it names, in Chinese, and changes nothing", async () => {
    const otherName = `edited-${randomUUID().slice(0, 8)}`;
    const userId = (await adminGet("/users")).data.find((entry: { username: string }) => entry.username === username).id as number;
    const created = await fetch(`${stack.gateway.url}/api/v1/admin/api-keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ user_id: userId, key_name: otherName }),
    });
    expect(created.status).toBe(201);
    await page.goto(`${base}/keys`);
    await page.waitForURL(/sign-in/);
    await page.getByLabel("管理员令牌").fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "登录" }).click();
    await page.waitForURL(`${base}/keys`);
    const row = page.locator(`tr[data-key-name="${otherName}"]`);
    await row.getByRole("button", { name: "编辑" }).click();
    const dialog = page.getByTestId("edit-key-dialog");
    await dialog.getByLabel("每分钟请求数").fill("5");
    await dialog.getByLabel("允许的 IP").fill("203.0.113.0/24\nnot-an-address");
    await dialog.getByRole("button", { name: "保存" }).click();
    const error = dialog.locator("#edit-key-error-allowed_ips");
    await error.getByText("not-an-address").waitFor();
    expect(await dialog.getByLabel("允许的 IP").getAttribute("aria-invalid")).toBe("true");
    expect(await dialog.getByLabel("允许的 IP").getAttribute("aria-describedby")).toBe("edit-key-error-allowed_ips");
    // The request is refused whole: neither the limit nor the list was stored.
    expect((await adminGet("/api-keys")).data.find((key: { key_name: string }) => key.key_name === otherName)).toMatchObject({
      rate_limit_per_minute: null,
      allowed_ips: null,
    });
    await dialog.getByRole("button", { name: "取消" }).click();
    await dialog.waitFor({ state: "hidden" });

    // The create form too: the error next to its field, and no key made.
    const form = page.getByRole("form", { name: "新建密钥" });
    const refusedName = `refused-${randomUUID().slice(0, 8)}`;
    await form.locator("select[name=user_id]").selectOption({ label: username });
    await form.getByLabel("名称", { exact: true }).fill(refusedName);
    await form.getByLabel("每日令牌预算").fill("5000");
    await form.getByLabel("允许的 IP").fill("not-an-address");
    await form.getByRole("button", { name: "新建密钥" }).click();
    await form.locator("#create-key-error-allowed_ips").getByText("not-an-address").waitFor();
    expect(await form.getByLabel("允许的 IP").getAttribute("aria-invalid")).toBe("true");
    expect(await form.getByLabel("每日令牌预算").inputValue()).toBe("5000");
    expect((await adminGet("/api-keys")).data.some((key: { key_name: string }) => key.key_name === refusedName)).toBe(false);
  }, 45_000);
});
