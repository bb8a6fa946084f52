import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServerHandle {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop), for outage tests. */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaws a paused server (SIGCONT). */
  resume(): void;
  /** Stops and removes its folder. */
  destroy(): Promise<void>;
}

/** A free TCP port on loopback, as the OS hands it out. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Starts a private `redis-server` on a free loopback port, persisting nothing, with the
 * `noeviction` policy BullMQ needs. Tests never touch a Redis they did not start.
 */
export async function startRedisServer(options: { port?: number; extraArgs?: string[] } = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "llmgw-redis-"));
  let child: ChildProcess | undefined;

  async function start() {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
    args.push("--maxmemory-policy", "noeviction", ...(options.extraArgs ?? []));
    const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (data: Buffer) => {
        output += data.toString();
        if (output.includes("Ready to accept connections")) {
          proc.stdout?.off("data", onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.on("data", (data: Buffer) => (output += data.toString()));
      proc.once("error", (error) =>
        reject(new Error(`cannot run redis-server (install it: apt-get install -y redis-server): ${error.message}`)),
      );
      proc.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)));
    });
  }

  async function stop() {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGCONT");
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGTERM");
    });
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
