import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, spawnApp, startRedisServer, type GatewayProcess, type RedisServerHandle } from "@llmgw/testing";
import { startMockedGateway, type MockedGateway } from "./support/mocked-gateway.js";

// The operator's surfaces of the built API and worker as real processes: start-up checks, logs, /metrics.
const REDIS_PASSWORD = `redis-pw-${randomUUID()}`;
const METRICS_TOKEN = `metrics-${randomUUID()}`;
let redis: RedisServerHandle;
let stack: MockedGateway;
const started: GatewayProcess[] = [];

beforeAll(async () => {
  // A Redis that really requires its password: the gateway works through it and never writes it down.
  redis = await startRedisServer({ extraArgs: ["--requirepass", REDIS_PASSWORD] });
  stack = await startMockedGateway({
    env: {
      REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redis.port}`,
      METRICS_TOKEN,
      LOG_LEVEL: "debug",
      RATE_LIMIT_ENABLED: "false",
    },
  });
});

afterAll(async () => {
  await Promise.all(started.map((process) => process.stop()));
  await stack?.stop();
  await redis?.destroy();
});

/** Starts a process that must stop at once, and returns its exit code and every line it printed. */
async function runToExit(app: "api" | "worker", env: Record<string, string>) {
  const process = spawnApp(app, env);
  started.push(process);
  const code = await process.exited;
  return { code, lines: process.lines.filter((line) => line.trim() !== "") };
}

/** GET through a given local address, so a loopback-only listener can be told from one on every address. */
function getVia(host: string, port: number, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request({ host, port, path: "/metrics", headers }, (response) => {
      let body = "";
      response.on("data", (data: Buffer) => (body += data.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    call.on("error", reject);
    call.end();
  });
}

/** This machine's first non-loopback IPv4 address, if it has one. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && entry.family === "IPv4" && !entry.internal)?.address;

const metricsRefusal = {
  error: {
    message: "Incorrect or missing metrics token. Send it as 'Authorization: Bearer METRICS_TOKEN'.",
    type: "authentication_error",
    param: null,
    code: "invalid_metrics_token",
  },
};

describe("start-up checks", () => {
  it.each(["api", "worker"] as const)("the %s refuses an ADMIN_TOKEN shorter than 16 characters, in one line that does not quote it", async (app) => {
    const { code, lines } = await runToExit(app, { REDIS_URL: inject("redisUrl"), ADMIN_TOKEN: "short-secret" });
    expect(code).toBe(1);
    expect(lines).toEqual(["configuration error: ADMIN_TOKEN must be at least 16 characters long (use a long random string)"]);
  });
});

describe("the Redis password", () => {
  it("never appears in the API's or the worker's logs, through a whole request", async () => {
    const answer = await stack.client.chat.completions.create({ model: "deepseek-chat", messages: [{ role: "user", content: "through a password-protected Redis" }] });
    expect(answer.choices[0].finish_reason).toBe("stop");
    await stack.gateway.api.waitForLine(/"url":"\/v1\/chat\/completions"/);
    const lines = [...stack.gateway.api.lines, ...stack.gateway.workers.flatMap((worker) => worker.lines)];
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(REDIS_PASSWORD);
  });

  it("is masked when the API says Redis is unreachable", async () => {
    const port = await freePort();
    const api = spawnApp("api", {
      REDIS_URL: `redis://default:${REDIS_PASSWORD}@127.0.0.1:${port}`,
      HOST: "127.0.0.1",
      PORT: String(await freePort()),
      DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-ops-")), "gateway.db"),
      QUEUE_PREFIX: `ops-${randomUUID()}`,
    });
    started.push(api);
    const warning = await api.waitForLine(/is not reachable/);
    expect(warning).toContain(`Redis at redis://default:***@127.0.0.1:${port} is not reachable; answering 503 until it is`);
    await api.waitForLine(/Server listening/);
    for (const line of api.lines) expect(line).not.toContain(REDIS_PASSWORD);
    // Its shutdown would wait on the Redis that is not there: nothing of it is under test.
    await api.stop("SIGKILL");
  });

  it("is masked when `npm start` finds no Redis", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["scripts/start.mjs"], {
      env: { PATH: "/nonexistent", REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${port}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    expect(await new Promise((resolve) => child.once("exit", resolve))).toBe(1);
    expect(output.trim()).toBe(
      `[llm-gateway] no Redis answers at redis://:***@127.0.0.1:${port}: start one with \`docker compose up -d redis\` (or install redis-server) and try again`,
    );
  });
});

describe("/metrics behind METRICS_TOKEN", () => {
  it("the API answers 401 without the token and the metrics with it", async () => {
    const refused = await fetch(`${stack.gateway.url}/metrics`);
    expect([refused.status, await refused.json()]).toEqual([401, metricsRefusal]);
    const scraped = await fetch(`${stack.gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("llmgw_http_requests_total");
  });

  it("the worker listens on loopback only by default, and honours METRICS_TOKEN too", async () => {
    const ready = JSON.parse(await stack.gateway.workers[0].waitForLine(/worker ready/)) as { metricsHost: string; metricsPort: number };
    expect(ready.metricsHost).toBe("127.0.0.1");
    const refused = await getVia("127.0.0.1", ready.metricsPort);
    expect([refused.status, JSON.parse(refused.body)]).toEqual([401, metricsRefusal]);
    const wrong = await getVia("127.0.0.1", ready.metricsPort, { authorization: `Bearer ${METRICS_TOKEN}-not` });
    expect(wrong.status).toBe(401);
    const scraped = await getVia("127.0.0.1", ready.metricsPort, { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain("llmgw_worker_jobs_in_flight");
    // From another address of this machine the port is closed: nothing listens there.
    if (outsideAddress) await expect(getVia(outsideAddress, ready.metricsPort)).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });

  it.runIf(outsideAddress)("WORKER_METRICS_HOST=0.0.0.0 opens the worker's /metrics to other hosts, still behind the token", async () => {
    const worker = spawnApp("worker", { ...stack.gateway.env, WORKER_METRICS_HOST: "0.0.0.0" }, "open-worker");
    started.push(worker);
    const ready = JSON.parse(await worker.waitForLine(/worker ready/)) as { metricsHost: string; metricsPort: number };
    expect(ready.metricsHost).toBe("0.0.0.0");
    expect((await getVia(outsideAddress!, ready.metricsPort)).status).toBe(401);
    expect((await getVia(outsideAddress!, ready.metricsPort, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
  });
});
