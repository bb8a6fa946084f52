// Child processes of the benchmark: the built apps, the mock upstream and the references, each a
// plain `node` process on loopback, so the load generator never shares an event loop with them.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs `node [nodeArgs] script` with exactly `env` (plus PATH); keeps its output lines.
 * `nodeArgs` exists for `--cpu-prof`, which Node refuses in NODE_OPTIONS.
 */
export function spawnNode(name, script, env, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { PATH: process.env.PATH ?? "", ...env },
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines = [];
  const waiters = new Set();
  const onText = (stream) => {
    let rest = "";
    stream.on("data", (data) => {
      const parts = (rest + data.toString()).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        if (lines.length < 5000) lines.push(line);
        for (const waiter of [...waiters]) if (waiter.pattern.test(line)) waiter.resolve(line);
      }
    });
  };
  onText(child.stdout);
  onText(child.stderr);
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));

  return {
    name,
    pid: child.pid,
    lines,
    exited,
    /** Resolves with the first line matching `pattern` (also one already seen). */
    waitForLine(pattern, timeoutMs = 20_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve: () => {} };
        const done = (error, line) => {
          waiters.delete(waiter);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(line);
        };
        waiter.resolve = (line) => done(null, line);
        const timer = setTimeout(() => done(new Error(`${name}: no line matching ${pattern} in ${timeoutMs} ms:\n${tail()}`)), timeoutMs);
        void exited.then((code) => done(new Error(`${name} exited (${code}) before ${pattern}:\n${tail()}`)));
        waiters.add(waiter);
      });
    },
    /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };

  function tail() {
    return lines.slice(-15).join("\n");
  }
}

/** The mock upstream (built libs/testing) in its own process, on a free port; `url` ends in /v1. */
export async function startMockProcess() {
  const mock = spawnNode("mock-upstream", `${repoRoot}libs/testing/dist/mock-upstream-main.js`, { MOCK_PORT: "0" });
  const line = await mock.waitForLine(/listening on http/);
  const url = /(http:\/\/\S+)/.exec(line)[1];
  return { url, origin: new URL(url).origin, process: mock, stop: () => mock.stop() };
}

/** A reference server script of bench/references: waits for its `ready <url>` line. */
export async function startReference(name, script, env, mode) {
  const child = spawnNode(name, `${repoRoot}bench/references/${script}`, { ...env, REFERENCE_MODE: mode ?? "" });
  const line = await child.waitForLine(/^ready/);
  return { url: line.split(" ")[1], process: child, stop: () => child.stop() };
}

/** Resident memory of a process in MB: `peak` (VmHWM, the high-water mark since start) and `now` (VmRSS). */
export function readRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
    return { peakMb: kb("VmHWM") / 1024, nowMb: kb("VmRSS") / 1024 };
  } catch {
    return { peakMb: NaN, nowMb: NaN };
  }
}
