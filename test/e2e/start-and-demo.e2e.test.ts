import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "@llmgw/testing";

/** Runs a root script as a newcomer would, collecting its output; `until` lets the test act mid-run. */
function run(script: string, args: string[], env: Record<string, string>, until?: (output: string) => boolean) {
  const child = spawn(process.execPath, [script, ...args], { env: { ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let resolveUntil: () => void = () => {};
  const reached = new Promise<void>((resolve) => (resolveUntil = resolve));
  const onData = (data: Buffer) => {
    output += data.toString();
    if (until?.(output)) resolveUntil();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, reached, output: () => output };
}

const tempDatabase = () => join(mkdtempSync(join(tmpdir(), "llmgw-start-")), "gateway.db");

describe("npm start", () => {
  it("starts a private redis-server when none answers, serves, and stops everything on SIGTERM", async () => {
    const [redisPort, port] = [await freePort(), await freePort()];
    const started = run(
      "scripts/start.mjs",
      [],
      {
        PATH: process.env.PATH ?? "",
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_PATH: tempDatabase(),
        WORKER_METRICS_PORT: "0",
        QUEUE_PREFIX: `start-${randomUUID()}`,
      },
      (output) => /worker ready/.test(output) && /Server listening/.test(output),
    );
    await started.reached;
    expect(started.output()).toContain(`no Redis answered at redis://127.0.0.1:${redisPort}: started a private redis-server`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    started.child.kill("SIGTERM");
    expect(await started.exited).toBe(0);
    // The private Redis went with it.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("without Redis and without redis-server, exits non-zero with one line saying how to get Redis", async () => {
    const redisPort = await freePort();
    const started = run("scripts/start.mjs", [], { PATH: "/nonexistent", REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    expect(await started.exited).toBe(1);
    expect(started.output().trim()).toBe(
      `[llm-gateway] no Redis answers at redis://127.0.0.1:${redisPort}: start one with \`docker compose up -d redis\` (or install redis-server) and try again`,
    );
  });

  it("stops with one line naming a bad variable", async () => {
    const started = run("scripts/start.mjs", [], { PATH: process.env.PATH ?? "", PORT: "eighty" });
    expect(await started.exited).toBe(1);
    expect(started.output().trim()).toBe('[llm-gateway] configuration error: PORT must be a whole number, got "eighty"');
  });
});

describe("npm run demo", () => {
  it("answers with the official openai client, JSON and streamed, without any provider key", async () => {
    const port = await freePort();
    const demo = run("scripts/demo.mjs", ["--once"], {
      PATH: process.env.PATH ?? "",
      REDIS_URL: inject("redisUrl"),
      PORT: String(port),
      HOST: "127.0.0.1",
      WORKER_METRICS_PORT: "0",
      QUEUE_PREFIX: `demo-${randomUUID()}`,
    });
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toMatch(/JSON answer \(\d+ tokens\): Echo: Hello from the llm-gateway demo!/);
    expect(demo.output()).toContain("Streamed answer: lorem ipsum dolor sit amet");
  });
});
