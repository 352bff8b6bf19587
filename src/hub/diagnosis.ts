/**
 * The checks of `switchboard doctor` that read a store: its migrations, its stored secrets and
 * each channel. Doctor makes them on a store it opens itself; a hub that holds the embedded store
 * makes them on its own store when doctor asks it through the control socket (control-socket.ts),
 * so both give the same lines.
 */
import { resolve } from "node:path";
import { inspectVkChannel } from "../channels/vk/inspect.ts";
import type { Config } from "../config/settings.ts";
import { AppError, describeError, type ErrorParams } from "../errors/app-error.ts";
import { catalogue, type ErrorCode } from "../errors/catalogue.ts";
import type { Store } from "../store/database.ts";
import { migrationStatus, refuseNewer } from "../store/migrations.ts";
import type { ChannelAccount } from "../store/repositories/channel-accounts.ts";
import { channelAccount } from "../store/schema.ts";
import { keyFilePath, type SecretBox } from "../store/secret-box.ts";
import { secretBoxFor } from "./open-store.ts";
import { endOfStep } from "./steps.ts";
import { checkStoreKey } from "./stored-secrets.ts";

/** One line of `switchboard doctor`. */
export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  code?: string;
  remedy?: string;
  /** A channel's problems, then its warnings, each with its own remedy. */
  notes?: Note[];
}

interface Note {
  kind: "problem" | "warning";
  code: string;
  message: string;
  remedy: string;
}

/** Checks in order, each a line; a check that fails with a catalogued error is a failed line. */
export class CheckList {
  readonly results: CheckResult[] = [];

  /** `signal` (doctor's, see runStoppable) stops the checks between two of them. */
  constructor(readonly signal?: AbortSignal) {}

  /** Goes no further when the checks were asked to stop (steps.ts); each check begins with it. */
  async next(): Promise<void> {
    if (this.signal) await endOfStep(this.signal);
  }

  /** Runs `check`, whose result is the line's detail; false when it failed. */
  async record(check: string, run: () => Promise<string> | string): Promise<boolean> {
    await this.next();
    try {
      this.results.push({ check, ok: true, detail: await run() });
      return true;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const { code, message, remedy } = error.render("en", "cli");
      this.results.push({ check, ok: false, detail: message, code, remedy });
      return false;
    }
  }
}

/**
 * The store's checks, added to `checks`: migrations, then (the tables being as this version
 * reads them) the stored secrets, then (their key being the right one) every channel.
 */
export async function checkStore(checks: CheckList, config: Config, store: Store): Promise<void> {
  const { db } = store;
  const migrated = await checks.record("migrations", async () => {
    const status = await migrationStatus(db);
    refuseNewer(status);
    if (status.applied < status.known) throw new AppError("migrations_pending", { ...status });
    const beside = status.newer > 0 ? `; ${status.newer} of a newer version, all additive` : "";
    return `${status.applied} of ${status.known} applied${beside}`;
  });
  if (!migrated) return;
  const readable = await checks.record("stored secrets", async () => {
    const stored = await checkStoreKey(config, store, "doctor");
    if (stored === 0) return "none stored yet";
    const key = config.secretKey
      ? "the configured key"
      : `the key in ${keyFilePath(resolve(config.dataDir))}`;
    return `all ${stored} readable with ${key}`;
  });
  if (!readable) {
    checks.results.push({
      check: "channels",
      ok: false,
      detail: "not checked: their tokens cannot be read with the configured key (see stored secrets)",
    });
    return;
  }
  await checks.next();
  const channels = await db.select().from(channelAccount);
  if (channels.length === 0)
    checks.results.push({ check: "channels", ok: true, detail: "none connected yet" });
  // The key opened the stored secrets above, so it exists: nothing is generated here.
  const box = channels.some((c) => c.credentials !== null) ? secretBoxFor(config) : undefined;
  checks.results.push(...(await Promise.all(channels.map((channel) => checkChannel(channel, box, config)))));
}

const unhealthyStates = new Set(["failing", "logged_out", "replaced"]);

/** How long a check waits for VK per channel (all channels are checked at once). */
const vkCheckMs = 5_000;

/**
 * One line per channel: state, mode, last event time, and for a connected VK channel what VK
 * itself says now (its callback server's status, Long Poll, foreign servers); a problem comes
 * with the catalogued remedy.
 */
async function checkChannel(
  channel: ChannelAccount,
  box: SecretBox | undefined,
  config: Config,
): Promise<CheckResult> {
  const settings = channel.settings;
  const mode = typeof settings.mode === "string" ? settings.mode : undefined;
  const head = [
    channel.state,
    ...(mode ? [`mode ${mode}`] : []),
    `last event ${channel.lastEventAt?.toISOString() ?? "never"}`,
  ];
  const check = `channel ${channel.kind} ${channel.name} (${channel.id})`;
  const stored = isNotice(settings.problem) ? settings.problem : undefined;
  const problems: Notice[] = [];
  const warnings: Notice[] = Array.isArray(settings.warnings) ? settings.warnings.filter(isNotice) : [];
  if (unhealthyStates.has(channel.state))
    problems.push(stored ?? { code: "", params: {}, text: channel.stateReason });
  if (box && channel.kind === "vk" && channel.state !== "disabled" && channel.credentials !== null) {
    const inspection = await Promise.race([
      inspectVkChannel(box, channel, { publicUrl: config.publicUrl, timeoutMs: vkCheckMs }),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), vkCheckMs + 1_000).unref()),
    ]);
    if (!inspection) head.push("VK did not answer in time");
    else {
      head.push(`VK: ${inspection.summary}`);
      problems.push(...inspection.problems.filter((p) => p.code !== stored?.code));
      if (inspection.problems.length === 0) {
        // Foreign servers as VK lists them now, instead of those seen at connect time.
        const foreign = "vk_foreign_callback_server";
        warnings.splice(
          0,
          warnings.length,
          ...warnings.filter((w) => w.code !== foreign),
          ...inspection.warnings,
        );
      }
    }
  }
  const note = (kind: Note["kind"], n: Notice): Note => ({
    kind,
    code: n.code,
    ...(Object.hasOwn(catalogue, n.code)
      ? describeError(n.code as ErrorCode, "en", n.params, "cli")
      : { message: n.text ?? n.code, remedy: "" }),
  });
  const notes = [...problems.map((p) => note("problem", p)), ...warnings.map((w) => note("warning", w))];
  const first = problems[0];
  return {
    check,
    ok: problems.length === 0,
    detail: head.join(", "),
    ...(first?.code ? { code: first.code } : {}),
    ...(notes[0]?.remedy ? { remedy: notes[0].remedy } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

interface Notice {
  code: string;
  params: ErrorParams;
  text?: string | null;
}

function isNotice(value: unknown): value is Notice {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Notice).code === "string" &&
    typeof ((value as Notice).params ?? {}) === "object"
  );
}
