/**
 * Where a benchmark's CPU goes: the time used by the servers under test, by PostgreSQL's
 * processes and by this process (the load generator), read from /proc. On two shared cores these
 * three compete, so a scenario's throughput is bounded by their sum per request, whoever is slow.
 * Linux only: elsewhere `cpuNow` answers undefined and the figures are left out.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface CpuUse {
  servers: number;
  postgres: number;
  generator: number;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times, is 100 on every architecture Node runs on. */
const microsPerTick = 10_000;

/** CPU time used so far, in µs, or undefined without /proc. */
export function cpuNow(serverPids: readonly number[]): CpuUse | undefined {
  if (process.platform !== "linux") return undefined;
  const postgres = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && readOr(`/proc/${entry}/comm`, "").trim() === "postgres")
    .reduce((sum, pid) => sum + ticks(Number(pid)), 0);
  return {
    servers: serverPids.reduce((sum, pid) => sum + ticks(pid), 0) * microsPerTick,
    postgres: postgres * microsPerTick,
    generator: ticks(process.pid) * microsPerTick,
  };
}

export function cpuSince(start: CpuUse, end: CpuUse): CpuUse {
  return {
    servers: end.servers - start.servers,
    postgres: end.postgres - start.postgres,
    generator: end.generator - start.generator,
  };
}

export function addCpu(a: CpuUse, b: CpuUse): CpuUse {
  return {
    servers: a.servers + b.servers,
    postgres: a.postgres + b.postgres,
    generator: a.generator + b.generator,
  };
}

/**
 * User plus system time of a process and of its children that have exited, in ticks; 0 once it
 * has exited itself. Counting exited children keeps PostgreSQL's sum from going back when a
 * backend ends: its time moves to the postmaster's.
 */
function ticks(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after it are fixed.
  const fields = readOr(`/proc/${pid}/stat`, "").split(") ")[1]?.split(" ");
  if (!fields) return 0;
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return (utime ?? 0) + (stime ?? 0) + (cutime ?? 0) + (cstime ?? 0);
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}
