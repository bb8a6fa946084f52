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

let stack: MockedGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
let apiKey: string;
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
