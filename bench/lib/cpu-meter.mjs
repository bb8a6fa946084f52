// How much of the machine's CPU went to processes outside the benchmark while a point ran:
// figures taken while something else (a build, another test run) competes are not comparable.
import { readdirSync, readFileSync } from "node:fs";

/** Busy and total clock ticks of the whole machine, from /proc/stat. */
function machineTicks() {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const idle = fields[3] + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU ticks (user + system) of this process and all its descendants (apps, mock, redis-server). */
function ownTicks() {
  const parents = new Map();
  const ticks = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name, which may itself contain spaces and parentheses.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(rest[1]));
      ticks.set(Number(entry), Number(rest[11]) + Number(rest[12]));
    } catch {
      // The process ended meanwhile.
    }
  }
  let sum = 0;
  for (const [pid, value] of ticks) {
    for (let current = pid; current > 1; current = parents.get(current) ?? 0) {
      if (current === process.pid) {
        sum += value;
        break;
      }
    }
  }
  return sum;
}

/** Starts measuring; `stop()` returns the shares (0..1) of all CPUs used by others and by us. */
export function startCpuMeter() {
  const machine = machineTicks();
  const own = ownTicks();
  return {
    stop() {
      const machineNow = machineTicks();
      const total = machineNow.total - machine.total;
      const busy = machineNow.busy - machine.busy;
      const ours = ownTicks() - own;
      if (total <= 0) return { foreignShare: 0, ownShare: 0 };
      return { foreignShare: Math.max(0, busy - ours) / total, ownShare: ours / total };
    },
  };
}
