/**
 * What the embedded store does for PGlite that a PostgreSQL server does for itself: vacuum,
 * statistics and checkpoints.
 */
import { setImmediate } from "node:timers/promises";
import type { PGlite } from "@electric-sql/pglite";

/** When the embedded store does its upkeep. */
export interface UpkeepPolicy {
  /** The first vacuum and analyze, this long after start… */
  analyzeAfterMs: number;
  /** …and then again this often. */
  analyzeEveryMs: number;
  /** A checkpoint after this much WAL since the last one… */
  checkpointWalBytes: number;
  /** …or this long after the last one, when anything was written since. */
  checkpointMaxIntervalMs: number;
  /** How often to look at the WAL. */
  checkpointCheckMs: number;
}

export type UpkeepJob = "vacuum" | "checkpoint";
/**
 * Told of each failed job: nothing else would notice a checkpoint failing every time, while the
 * WAL grew again.
 */
export type UpkeepFailureHandler = (job: UpkeepJob, error: unknown) => void;

/**
 * PostgreSQL's checkpointer defaults to 5 minutes and 1 GB; 64 MB keeps the data directory small.
 */
const defaultUpkeep: UpkeepPolicy = {
  analyzeAfterMs: 30_000,
  analyzeEveryMs: 15 * 60_000,
  checkpointWalBytes: 64 * 2 ** 20,
  checkpointMaxIntervalMs: 5 * 60_000,
  checkpointCheckMs: 10_000,
};

/**
 * Starts the store's upkeep; `stop` waits for work under way. Two jobs a server's background
 * processes do, and PGlite, PostgreSQL in single-user mode, has none of:
 * - vacuum and statistics: without statistics the planner sorts whole tables for a page of a
 *   list (bench/api measured lists 2-4x slower). A table at a time, with a turn of the event loop
 *   between: PGlite holds the whole process while it works (the largest tables take 100-150 ms
 *   after 20,000 messages; all of them at once took a second);
 * - checkpoints: without them the WAL grows for as long as the hub runs (some 5 KB for each
 *   message received), every 16 MB segment is created, zero-filled, in the middle of a request
 *   (a 50 ms stall), and a crash replays all of it at the next start. After a checkpoint, old
 *   segments are recycled.
 */
export function startUpkeep(
  client: Pick<PGlite, "query" | "exec">,
  policy: Partial<UpkeepPolicy> = {},
  onFailure: UpkeepFailureHandler = () => {},
): { stop(): Promise<void> } {
  const { analyzeAfterMs, analyzeEveryMs, checkpointWalBytes, checkpointMaxIntervalMs, checkpointCheckMs } = {
    ...defaultUpkeep,
    ...policy,
  };
  let work: Promise<unknown> = Promise.resolve();
  let stopped = false;
  // One job at a time, and none after stop; a failed job is told, and tried again at its next turn.
  const tell = (name: UpkeepJob, error: unknown) => {
    try {
      onFailure(name, error);
    } catch {
      // A handler that throws must not reject the chain: that would end upkeep and, unhandled,
      // the process.
    }
  };
  const run = (name: UpkeepJob, job: () => Promise<unknown>) => {
    work = work.then(() => (stopped ? undefined : job())).catch((error) => tell(name, error));
  };

  const vacuumAndAnalyze = async () => {
    const { rows } = await client.query<{ name: string }>(
      "select format('%I.%I', schemaname, relname) as name from pg_stat_user_tables order by 1",
    );
    for (const { name } of rows) {
      if (stopped) return;
      await client.exec(`vacuum (analyze) ${name}`);
      await setImmediate();
    }
  };
  const firstAnalyze = setTimeout(() => run("vacuum", vacuumAndAnalyze), analyzeAfterMs).unref();
  const analyzing = setInterval(() => run("vacuum", vacuumAndAnalyze), analyzeEveryMs).unref();

  let lastCheckpointAt = Date.now();
  let walAfterLastCheckpoint: string | undefined;
  const checkpointIfDue = async () => {
    const {
      rows: [wal],
    } = await client.query<{ at: string; since: number }>(
      "select pg_current_wal_lsn()::text as at, pg_wal_lsn_diff(pg_current_wal_lsn(), redo_lsn)::float8 as since from pg_control_checkpoint()",
    );
    if (!wal) return;
    const written = wal.at !== walAfterLastCheckpoint;
    const due =
      wal.since >= checkpointWalBytes ||
      (written && Date.now() - lastCheckpointAt >= checkpointMaxIntervalMs);
    if (!due) return;
    await client.exec("checkpoint");
    lastCheckpointAt = Date.now();
    walAfterLastCheckpoint = (await client.query<{ at: string }>("select pg_current_wal_lsn()::text as at"))
      .rows[0]?.at;
  };
  // A look still waiting behind a long job needs no second one queued after it.
  let lookQueued = false;
  const checking = setInterval(() => {
    if (lookQueued) return;
    lookQueued = true;
    run("checkpoint", () => {
      lookQueued = false;
      return checkpointIfDue();
    });
  }, checkpointCheckMs).unref();

  return {
    async stop() {
      stopped = true;
      clearTimeout(firstAnalyze);
      clearInterval(analyzing);
      clearInterval(checking);
      await work;
    },
  };
}
