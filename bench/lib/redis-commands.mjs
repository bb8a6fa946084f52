// What the gateway asks of Redis per request: command counts from INFO commandstats over a
// load, and the exact sequence of one request's round trips from MONITOR, by connection name
// and script name (EVALSHA hashes mapped back to the gateway's and BullMQ's Lua files).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { repoRoot } from "./processes.mjs";

/** Calls per command since the last CONFIG RESETSTAT, e.g. { evalsha: 1200, xadd: 3400 }. */
export async function readCommandStats(redis) {
  const text = await redis.info("commandstats");
  const stats = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[match[1]] = Number(match[2]);
  return stats;
}

/** Commands per request, largest first, dropping the ones below 0.05 per request. */
export function perRequest(stats, requests) {
  return Object.entries(stats)
    .map(([command, calls]) => ({ command, perRequest: calls / requests }))
    .filter((entry) => entry.perRequest >= 0.05)
    .sort((a, b) => b.perRequest - a.perRequest);
}

/**
 * Runs `send()` (one request) under MONITOR and returns each command issued by a client
 * (not from inside a script) as { atMs, connection, command, detail, luaCalls }, in order, where
 * `luaCalls` lists the commands the script ran inside Redis.
 */
export async function traceOneRequest(redisUrl, send, settle = async () => {}) {
  const names = await scriptNames();
  const admin = new Redis(redisUrl, { connectionName: "bench:monitor" });
  // Connected before MONITOR starts, so its own hello does not show in the trace.
  const marker = new Redis(redisUrl, { connectionName: "bench:marker" });
  await marker.ping();
  const monitor = await admin.monitor();
  const entries = [];
  monitor.on("monitor", (time, args, source) => entries.push({ time: Number(time), args, source }));
  try {
    // Marks in the timeline: PINGs from a connection of ours, a round trip's half off.
    await marker.ping("trace-mark:the client sends the request");
    await send();
    await marker.ping("trace-mark:the client has the whole answer");
    // The worker finishes its bookkeeping after the caller has the answer.
    await settle();
    // MONITOR lines trail the replies a little; a PING from here marks the end of the trace.
    await marker.ping(`trace-end-${Date.now()}`);
    const deadline = Date.now() + 2000;
    while (!entries.some((entry) => String(entry.args[0]).toLowerCase() === "ping" && String(entry.args[1]).startsWith("trace-end")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const clients = await marker.client("LIST");
    const connectionOf = new Map();
    for (const line of String(clients).split("\n")) {
      const addr = /addr=(\S+)/.exec(line)?.[1];
      const name = /name=(\S*)/.exec(line)?.[1];
      if (addr) connectionOf.set(addr, connectionLabel(name, addr));
    }
    const trace = [];
    // The bench's own commands (and what its scripts run) are not the gateway's.
    let skipping = false;
    let firstTime;
    for (const { time, args, source } of entries) {
      const command = String(args[0]).toLowerCase();
      if (command === "ping" && String(args[1]).startsWith("trace-end")) break;
      if (source === "lua") {
        if (!skipping) trace.at(-1)?.luaCalls.push(command);
        continue;
      }
      const connection = connectionOf.get(source) ?? source;
      if (command === "ping" && String(args[1]).startsWith("trace-mark:")) {
        firstTime ??= time;
        trace.push({ atMs: Math.round((time - firstTime) * 100_000) / 100, connection: "(bench)", command: "--", detail: String(args[1]).slice(11), luaCalls: [] });
        skipping = true;
        continue;
      }
      skipping = connection.startsWith("bench:");
      if (skipping) continue;
      let detail = "";
      if (command === "evalsha" || command === "eval") detail = names.get(String(args[1])) ?? `script ${String(args[1]).slice(0, 8)}`;
      else if (args[1] !== undefined) detail = shorten(String(args[1]));
      firstTime ??= time;
      // MONITOR stamps each command when Redis runs it (seconds, microsecond resolution).
      trace.push({ atMs: Math.round((time - firstTime) * 100_000) / 100, connection, command, detail, luaCalls: [] });
    }
    return trace;
  } finally {
    marker.disconnect();
    monitor.disconnect();
    admin.disconnect();
  }
}

/** BullMQ names a worker's blocking connection `<prefix>:<base64 of the queue name>`. */
function connectionLabel(name, addr) {
  if (!name) return addr;
  if (name.startsWith("llmgw:") || name.startsWith("bench:")) return name;
  const bullmq = /:([A-Za-z0-9+/]+=*)$/.exec(name);
  return bullmq ? `bullmq-blocking:${Buffer.from(bullmq[1], "base64").toString()}` : name;
}

function shorten(text) {
  return text.replace(/job_[A-Za-z0-9_-]{8,}/g, "job_…").replace(/[0-9a-f-]{36}/g, "…").slice(0, 60);
}

/** SHA-1 of every Lua script the gateway and BullMQ define, as ioredis sends them with EVALSHA. */
async function scriptNames() {
  const names = new Map();
  const sha = (text) => createHash("sha1").update(text).digest("hex");
  for (const folder of [join(repoRoot, "apps"), join(repoRoot, "libs")]) {
    for (const project of readdirSync(folder)) {
      let files = [];
      try {
        files = readdirSync(join(folder, project, "lua"));
      } catch {
        continue;
      }
      for (const file of files.filter((name) => name.endsWith(".lua"))) {
        names.set(sha(readFileSync(join(folder, project, "lua", file), "utf8")), `${project}/${file.replace(/\.lua$/, "")}`);
      }
    }
  }
  try {
    const scriptsFolder = join(repoRoot, "node_modules/bullmq/dist/esm/scripts");
    for (const file of readdirSync(scriptsFolder).filter((name) => /^[a-zA-Z]+-\d+\.js$/.test(name))) {
      const module = await import(pathToFileURL(join(scriptsFolder, file)).href);
      for (const script of Object.values(module)) {
        if (script && typeof script.content === "string") names.set(sha(script.content), `bullmq ${script.name}`);
      }
    }
  } catch {
    // Unknown hashes are shown as such.
  }
  return names;
}
