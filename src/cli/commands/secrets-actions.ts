/** What `switchboard secrets` does, loaded when one of its commands runs (see main.ts). */
import type { Config } from "../../config/settings.ts";
import { AppError } from "../../errors/app-error.ts";
import { countHubConnections, openExistingStore, secretBoxFor } from "../../hub/open-store.ts";
import { endOfStep, pauseForTest } from "../../hub/steps.ts";
import {
  describeUnreadable,
  forgetUnreadableSecrets,
  keyInUse,
  rekeySecrets,
  type SecretKind,
  type StoredSecret,
  surveySecrets,
} from "../../hub/stored-secrets.ts";
import type { LockHolder } from "../../store/data-dir-lock.ts";
import type { Store } from "../../store/database.ts";
import { migrationStatus } from "../../store/migrations.ts";
import { SecretBox } from "../../store/secret-box.ts";
import { configFrom } from "../options.ts";
import { printJson, say } from "../output.ts";
import { runStoppable } from "../signals.ts";

/** What to do after forgetting each kind of secret; the "before a rotation" kinds need nothing. */
const nextSteps: Partial<Record<SecretKind, string>> = {
  channel_credentials:
    "Channels lost their tokens and are failing (channel_credentials_lost): connect each again with its tokens (VK: POST /v1/channels with its group_id and tokens). They keep their ids, conversations and history.",
  endpoint_secret:
    'Webhook endpoints got a new signing secret nobody knows and are disabled, their events held: for each, POST /v1/webhooks/{id}/rotate-secret, give the secret it shows to the receiver, then PATCH /v1/webhooks/{id} with {"enabled": true}.',
  callback_secret:
    "Status callbacks (status_url) are signed with a new secret: read it with GET /v1/webhook-settings/callback-secret in each workspace listed, and give it to their receivers.",
};

function describeSecret(secret: StoredSecret): string {
  return `  ${secret.kind.padEnd(24)}  ${secret.label} (${secret.id}, workspace ${secret.workspaceId})`;
}

const presentSecret = ({ kind, id, workspaceId, label }: StoredSecret) => ({
  kind,
  id,
  workspace_id: workspaceId,
  label,
});

function describeKey({ key, configured, keyFile }: ReturnType<typeof keyInUse>): string {
  if (configured) return "the configured SWITCHBOARD_SECRET_KEY";
  return key ? `the key in ${keyFile}` : `no key (${keyFile} does not exist)`;
}

/**
 * Runs `work`, the command `holder`, on the configured store, which must exist and be migrated
 * (the secrets are read as this version keeps them); `changes` says it writes, so no hub may be
 * running on the store. A signal stops it before `work` (see runStoppable), which changes
 * everything in one transaction.
 */
function withStore(
  holder: LockHolder,
  config: Config,
  changes: boolean,
  work: (store: Store) => Promise<void>,
) {
  return runStoppable(async (signal) => {
    const store = await openExistingStore(config, holder);
    try {
      await pauseForTest("checking the store");
      const status = await migrationStatus(store.db);
      if (status.applied < status.known) throw new AppError("migrations_pending", { ...status });
      if (changes) {
        const hubs = await countHubConnections(store);
        if (hubs > 0) throw new AppError("hubs_running", { count: hubs, location: store.location });
      }
      await endOfStep(signal);
      await work(store);
    } finally {
      await store.close();
    }
  });
}

/** `switchboard secrets forget`: lists what the key in use cannot open; with --yes, forgets it. */
export async function forget(options: Record<string, unknown>): Promise<void> {
  const config = configFrom(options);
  const forgetting = Boolean(options.yes);
  const inUse = keyInUse(config);
  const { key, configured, keyFile } = inUse;
  const keyName = describeKey(inUse);
  await withStore("switchboard secrets forget", config, forgetting, async (store) => {
    // Whatever stays is sealed with the key in use; an embedded store without a key file
    // gets one now, as a hub's first start would make it.
    const surveyed = forgetting
      ? await forgetUnreadableSecrets(store.db, secretBoxFor(config))
      : await surveySecrets(store.db, key && new SecretBox(key));
    const found = surveyed.filter((secret) => !secret.readable);
    // Forgetting without a key made the key file: what stays is sealed with it now.
    const generated = forgetting && !key;
    if (options.json) {
      return printJson({
        key: configured ? "configured" : key || generated ? "file" : "none",
        ...(generated && { new_key_file: keyFile }),
        forgotten: forgetting,
        secrets: found.map(presentSecret),
      });
    }
    if (found.length === 0) {
      say(`Every stored secret opens with ${keyName}: nothing to forget.`);
      return;
    }
    const counts = describeUnreadable(surveyed).en;
    say(
      forgetting
        ? `Forgot the stored secrets ${keyName} could not open (${counts}):`
        : `Stored secrets that do not open with ${keyName} (${counts}):`,
    );
    for (const secret of found) process.stdout.write(`${describeSecret(secret)}\n`);
    if (!forgetting) {
      say("");
      say(
        "Nothing changed. Only if the key that sealed them is lost for good (check every hub's environment and the backups first), run this again with --yes: the channels then need their tokens again, and webhook receivers new signing secrets.",
      );
      return;
    }
    if (generated) say(`The hub's new key is in ${keyFile}: keep it with the store's backups.`);
    say("");
    say("Now:");
    for (const kind of new Set(found.map((s) => s.kind))) {
      const step = nextSteps[kind];
      if (step) say(`- ${step}`);
    }
  });
}

/** `switchboard secrets rekey`: reseals everything with the configured key. */
export async function rekey(options: Record<string, unknown>): Promise<void> {
  const config = configFrom(options);
  if (!config.previousSecretKey) throw new AppError("previous_secret_key_missing");
  const from = new SecretBox(Buffer.from(config.previousSecretKey, "base64"));
  await withStore("switchboard secrets rekey", config, true, async (store) => {
    const to = secretBoxFor(config);
    const { resealed, kept } = await rekeySecrets(store.db, from, to);
    if (options.json) return printJson({ resealed: resealed.map(presentSecret), kept });
    say(
      `Resealed ${resealed.length} stored secrets with ${describeKey(keyInUse(config))}${kept > 0 ? `; ${kept} already opened with it` : ""}.`,
    );
    say(
      "Start every hub with this key from now on; SWITCHBOARD_PREVIOUS_SECRET_KEY is no longer needed. Backups made before now still need the previous key: keep it with them.",
    );
  });
}
