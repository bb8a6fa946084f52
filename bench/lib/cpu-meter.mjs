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

/**
 * Waits (at most `maxSeconds`) until processes outside the bench use less than `threshold` of
 * the CPUs over a 1 s window; resolves to the last share seen.
 */
export async function waitForQuietMachine({ maxSeconds, threshold = 0.1, onBusy = () => {} }) {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const meter = startCpuMeter();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const { foreignShare } = meter.stop();
    if (foreignShare < threshold || Date.now() >= deadline) return foreignShare;
    onBusy(foreignShare);
  }
}

/**
 * Re-measures points that ran on a busy machine, within a time budget for the whole run:
 * `quietly(measure)` runs `measure()` (which reports `foreignCpu`), and while the figure was
 * noisy (>= `threshold`) and budget is left, waits for a quieter moment and measures again,
 * keeping the quietest result.
 */
export function createNoiseRetry({ budgetSeconds, threshold = 0.1, onRetry = () => {} }) {
  let spentMs = 0;
  return {
    get spentSeconds() {
      return Math.round(spentMs / 1000);
    },
    async quietly(measure) {
      let best = await measure();
      while (best.foreignCpu >= threshold && spentMs < budgetSeconds * 1000) {
        const started = performance.now();
        onRetry(best.foreignCpu);
        await waitForQuietMachine({ maxSeconds: Math.min(15, budgetSeconds - spentMs / 1000), threshold });
        const again = await measure();
        if (again.foreignCpu < best.foreignCpu) best = again;
        spentMs += performance.now() - started;
      }
      return best;
    },
  };
}

/**
 * CPU used by each of `pids` (name -> pid) while `run()` runs, in CPUs (1 = one core busy all
 * the time), plus `machine`, the whole machine's busy CPUs over the same time.
 */
export async function measureProcessCpu(pids, run) {
  const read = () => ({ machine: machineTicks(), each: Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processTicks(pid)])) });
  const before = read();
  const value = await run();
  const after = read();
  const cpus = readFileSync("/proc/stat", "utf8").split("\n").filter((line) => /^cpu\d+ /.test(line)).length || 1;
  const perCpu = (after.machine.total - before.machine.total) / cpus;
  const usage = { machine: (after.machine.busy - before.machine.busy) / perCpu };
  for (const name of Object.keys(pids)) usage[name] = (after.each[name] - before.each[name]) / perCpu;
  return { value, usage };
}

function processTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return NaN;
  }
}

/** Pids of this process's direct children whose command name is `comm` (e.g. redis-server). */
export function childPids(comm) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === process.pid && name === comm) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}
