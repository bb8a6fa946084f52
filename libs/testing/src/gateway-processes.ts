import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./redis-server.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export interface GatewayProcess {
  name: string;
  child: ChildProcess;
  /** Every line it wrote to stdout and stderr so far. */
  lines: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal and waits for the exit; resolves to the exit code (null when killed by signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface CommandOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built admin CLI (`npm run admin`) to its end in `cwd`, with exactly `env` (plus PATH). */
export function runAdminCli(args: string[], options: { cwd: string; env: Record<string, string> }): Promise<CommandOutcome> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [`${repoRoot}apps/api/dist/admin-cli.js`, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/**
 * Runs a built app (`apps/<app>/dist/main.js`) as a child process with exactly `env` (plus PATH), in
 * `options.cwd` (default: the repository), as if on a host of its own.
 */
export function spawnApp(app: "api" | "worker", env: Record<string, string>, name: string = app, options: { cwd?: string } = {}): GatewayProcess {
  const child = spawn(process.execPath, [`${repoRoot}apps/${app}/dist/main.js`], {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: options.cwd ?? repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onText = (stream: NodeJS.ReadableStream) => {
    let rest = "";
    stream.on("data", (data: Buffer) => {
      const parts = (rest + data.toString()).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        for (const waiter of [...waiters]) {
          if (waiter.pattern.test(line)) {
            waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    });
  };
  onText(child.stdout!);
  onText(child.stderr!);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  return {
    name,
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 15_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${lines.slice(-20).join("\n")}`));
        }, timeoutMs);
        waiter.resolve = (line) => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.add(waiter);
        void exited.then((code) => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before a line matching ${pattern}:\n${lines.slice(-20).join("\n")}`));
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface GatewayStack {
  url: string;
  port: number;
  api: GatewayProcess;
  workers: GatewayProcess[];
  env: Record<string, string>;
  addWorker(): Promise<GatewayProcess>;
  stop(): Promise<void>;
}

/** Starts one API and `workers` worker processes, and waits until all say they are ready. */
export async function startGateway(options: { env: Record<string, string>; workers?: number }): Promise<GatewayStack> {
  const port = await freePort();
  const env = {
    HOST: "127.0.0.1",
    PORT: String(port),
    LOG_LEVEL: "info",
    WORKER_METRICS_PORT: "0",
    // A stack never writes into the working tree: its SQLite file lives in a temp folder.
    DATABASE_PATH: join(mkdtempSync(join(tmpdir(), "llmgw-db-")), "gateway.db"),
    ...options.env,
  };
  const api = spawnApp("api", env);
  const workers: GatewayProcess[] = [];
  const addWorker = async () => {
    const worker = spawnApp("worker", env, `worker-${workers.length + 1}`);
    workers.push(worker);
    await worker.waitForLine(/worker ready/);
    return worker;
  };
  await Promise.all([api.waitForLine(/Server listening/), ...Array.from({ length: options.workers ?? 1 }, addWorker)]);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    api,
    workers,
    env,
    addWorker,
    async stop() {
      await Promise.all([api, ...workers].map((process) => process.stop()));
    },
  };
}
