// Text for a MONITOR trace and a profile run (see redis-commands.mjs, profile-run.mjs).
import { cpus } from "node:os";
import { formatProfileSummary } from "./profile-summary.mjs";

/** One line per round trip: connection, command, script or key, and what a script ran inside. */
export function formatTrace(trace) {
  const width = Math.max(0, ...trace.map((entry) => entry.connection.length));
  return trace.map((entry, index) => {
    const inside = entry.luaCalls.length ? `  [in Lua: ${summariseCalls(entry.luaCalls)}]` : "";
    return `  ${String(index + 1).padStart(2)}. ${entry.atMs.toFixed(2).padStart(6)} ms  ${entry.connection.padEnd(width)}  ${entry.command} ${entry.detail}${inside}`;
  });
}

function summariseCalls(calls) {
  const counts = new Map();
  for (const call of calls) counts.set(call, (counts.get(call) ?? 0) + 1);
  return [...counts].map(([call, count]) => (count > 1 ? `${call} x${count}` : call)).join(", ");
}

/** The profile run: its load, Redis commands per request, and both processes' summaries. */
export function formatProfile(profile) {
  const lines = [
    "",
    `CPU profile (sync JSON, c=16, ${profile.seconds} s, under --cpu-prof): ${Math.round(profile.load.rps)} rps, p50 ${profile.load.p50.toFixed(2)} ms, p99 ${profile.load.p99.toFixed(2)} ms`,
    `CPUs used during that load (of ${cpus().length}): ${Object.entries(profile.cpu ?? {}).map(([name, cpus]) => `${name} ${cpus.toFixed(2)}`).join(", ")}`,
    `Redis commands per request (INFO commandstats over the run; scripts count once plus the commands they run):`,
    `  ${profile.redisPerRequest.map((entry) => `${entry.command} ${entry.perRequest.toFixed(2)}`).join(", ")}`,
  ];
  lines.push(...formatProfileSummary("API process", profile.api));
  lines.push(...formatProfileSummary("worker process", profile.worker));
  lines.push(`profiles: ${profile.files.join(", ")} (open in Chrome DevTools > Performance, or speedscope)`);
  return lines;
}
