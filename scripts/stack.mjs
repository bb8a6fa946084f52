// Shared by `npm start` and `npm run demo`: build, find or start Redis, run the API and workers.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/**
 * The apps' heap bound, unless NODE_OPTIONS names one. Without it V8 sizes the heap from the
 * machine's memory and lets garbage pile up: the API's RSS under load reached 240 MB on a 24 GB
 * machine where its live heap is about 50 MB; bounded, about 150 MB at the same throughput. The
 * Dockerfile sets the same. Raise it for very many WebSockets (about 9 MB per 1,000).
 */
export const HEAP_BOUND = "--max-old-space-size=512";

/** `env` with the heap bound added to NODE_OPTIONS (an explicit bound there wins). */
export function withHeapBound(env) {
  const options = env.NODE_OPTIONS ?? "";
  return options.includes("--max-old-space-size") ? env : { ...env, NODE_OPTIONS: `${options} ${HEAP_BOUND}`.trim() };
}

export function say(line) {
  process.stderr.write(`[llm-gateway] ${line}\n`);
}

/** Compiles the TypeScript (incremental: quick when nothing changed), and the web console when its sources changed. */
export function build() {
  const result = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-b"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    say("build failed (see above); run `npm install` first if dependencies are missing");
    process.exit(1);
  }
  if (consoleIsStale()) {
    const bundled = spawnSync("npm", ["run", "build", "--silent", "-w", "apps/console"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    // The API runs without the console (its pages answer 503 console_not_built), so this is not fatal.
    if (bundled.status !== 0) say("the web console did not build (see above); /console answers 503 until `npm run build` succeeds");
  }
}

/** Whether apps/console/dist is missing or older than a file of the console's sources. */
function consoleIsStale() {
  const consoleDir = join(root, "apps/console");
  const built = join(consoleDir, "dist/index.html");
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newer = (path) =>
    statSync(path).isDirectory() ? readdirSync(path).some((name) => newer(join(path, name))) : statSync(path).mtimeMs > builtAt;
  return ["src", "index.html", "vite.config.ts", "package.json"].some((name) => existsSync(join(consoleDir, name)) && newer(join(consoleDir, name)));
}

/** The URL as a log line may show it: its password replaced by `***`. */
export function maskPassword(url) {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/** Does something answer PING like Redis at this URL? */
export function redisAnswers(url, timeoutMs = 1000) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || "127.0.0.1", port: Number(port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

function onPath(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
}

/**
 * Uses the Redis at `url` when one answers; otherwise starts a private redis-server on that
 * port when one is installed (loopback URLs only); otherwise says how to get Redis and exits.
 */
export async function ensureRedis(url) {
  if (await redisAnswers(url)) return null;
  const { hostname, port } = new URL(url);
  const local = ["127.0.0.1", "localhost", "::1", "[::1]"].includes(hostname);
  if (!local || !onPath("redis-server")) {
    say(`no Redis answers at ${maskPassword(url)}: start one with \`docker compose up -d redis\` (or install redis-server) and try again`);
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), "llmgw-redis-"));
  const args = ["--port", port || "6379", "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
  const child = spawn("redis-server", [...args, "--maxmemory-policy", "noeviction"], { stdio: "ignore" });
  for (let i = 0; i < 50 && !(await redisAnswers(url, 200)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await redisAnswers(url))) {
    say(`could not start a private redis-server on port ${port || 6379}`);
    child.kill();
    process.exit(1);
  }
  say(`no Redis answered at ${maskPassword(url)}: started a private redis-server (pid ${child.pid}, data in ${dir}, nothing persisted); it stops with this process`);
  return child;
}

/**
 * Runs one API and `workers` worker processes with `env`, restarting a worker that dies,
 * and stops everything (and the private Redis) on SIGINT/SIGTERM or when the API exits.
 */
export function runProcesses({ env, workers, redisChild }) {
  const children = new Set();
  let stopping = false;

  function launch(name, script, onExit, extraEnv = {}) {
    const child = spawn(process.execPath, [join(root, script)], { env: withHeapBound({ ...env, ...extraEnv }), stdio: "inherit" });
    children.add(child);
    child.on("exit", (code, signal) => {
      children.delete(child);
      if (!stopping) onExit(code, signal);
    });
    return child;
  }

  // Each worker serves /metrics on a port of its own: WORKER_METRICS_PORT, +1, +2… (0 stays "any free port").
  const metricsBase = Number(env.WORKER_METRICS_PORT ?? 9464);
  function startWorker(index) {
    const metricsPort = String(metricsBase === 0 ? 0 : metricsBase + index - 1);
    const onExit = (code, signal) => {
      say(`worker ${index} exited (${signal ?? code}); starting it again in 1 s`);
      setTimeout(() => !stopping && startWorker(index), 1000);
    };
    launch(`worker ${index}`, "apps/worker/dist/main.js", onExit, { WORKER_METRICS_PORT: metricsPort });
  }

  async function stopAll(exitCode) {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill("SIGTERM");
    await Promise.all([...children].map((child) => new Promise((resolve) => child.once("exit", resolve))));
    redisChild?.kill("SIGTERM");
    process.exit(exitCode);
  }

  launch("api", "apps/api/dist/main.js", (code) => {
    say(`the API exited (${code}); stopping`);
    void stopAll(code || 1);
  });
  for (let i = 1; i <= workers; i++) startWorker(i);
  process.on("SIGINT", () => void stopAll(0));
  process.on("SIGTERM", () => void stopAll(0));
  return { stop: stopAll };
}

/** The process environment with `.env` applied under it (variables already set win). */
export function environment() {
  const file = join(root, ".env");
  if (existsSync(file)) process.loadEnvFile(file);
  return { ...process.env };
}

export { root };
