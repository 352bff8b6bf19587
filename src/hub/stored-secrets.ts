import { resolve } from "node:path";
import { eq, type SQL, sql } from "drizzle-orm";
import type { Config } from "../config/settings.ts";
import { AppError, describeError, type Translated } from "../errors/app-error.ts";
import { withoutCredentials } from "../net/egress.ts";
import { disableEndpointAndTell, recordChannelStatus } from "../pipeline/webhooks/events.ts";
import { newSigningSecret } from "../pipeline/webhooks/signature.ts";
import { type Db, queryRows, type Store } from "../store/database.ts";
import { transitionChannelState } from "../store/repositories/channel-accounts.ts";
import { channelAccount, connectionStates, webhookEndpoint, webhookSettings } from "../store/schema.ts";
import { keyFilePath, readKeyFile, SecretBox } from "../store/secret-box.ts";
import { checkKeyConfigured } from "./open-store.ts";

/**
 * The values the store keeps sealed with the hub's key (see secret-box.ts): whether a key opens
 * them all (checked before a hub starts), forgetting those whose key is lost for good, and
 * resealing them all with a new key.
 */

export type SecretKind = keyof typeof places;

/** One sealed value: which row holds it, and what a person knows that row by. */
export interface StoredSecret {
  kind: SecretKind;
  /** The row's id (a channel's, an endpoint's; a workspace's for its webhook settings). */
  id: string;
  workspaceId: string;
  label: string;
  /** The value as stored: what `readable` was tried on, and what a reseal replaces. */
  sealed: string;
  readable: boolean;
}

interface SealedRow {
  id: string;
  workspace_id: string;
  /** What names the row: a channel's kind and name, an endpoint's URL, a workspace's name. */
  named: string;
  sealed: string;
}

const channelRows = (column: string) =>
  sql`select id::text as id, workspace_id::text as workspace_id, kind || ' channel "' || name || '"' as named, ${sql.identifier(column)} as sealed from channel_account where ${sql.identifier(column)} is not null order by id`;
const endpointRows = (column: string) =>
  sql`select id::text as id, workspace_id::text as workspace_id, url as named, ${sql.identifier(column)} as sealed from webhook_endpoint where ${sql.identifier(column)} is not null order by id`;
const settingsRows = (column: string) =>
  sql`select s.workspace_id::text as id, s.workspace_id::text as workspace_id, w.name as named, s.${sql.identifier(column)} as sealed from webhook_settings s join workspace w on w.id = s.workspace_id where s.${sql.identifier(column)} is not null order by s.workspace_id`;
const endpointLabel = (url: string) => `webhook endpoint ${withoutCredentials(url)}`;
const settingsLabel = (workspace: string) => `status callbacks of workspace "${workspace}"`;

/**
 * Where sealed values live, each read with plain SQL: the start-up check runs before migrations,
 * so a column this version adds may not be there yet (the place is skipped then).
 */
const places = {
  channel_credentials: {
    table: "channel_account",
    idColumn: "id",
    column: "credentials",
    rows: channelRows,
    label: (named: string) => named,
    name: { en: "channel tokens", ru: "токены каналов" },
  },
  endpoint_secret: {
    table: "webhook_endpoint",
    idColumn: "id",
    column: "secret",
    rows: endpointRows,
    label: endpointLabel,
    name: { en: "webhook signing secrets", ru: "секреты подписи вебхуков" },
  },
  endpoint_previous_secret: {
    table: "webhook_endpoint",
    idColumn: "id",
    column: "previous_secret",
    rows: endpointRows,
    label: endpointLabel,
    name: { en: "webhook signing secrets before a rotation", ru: "секреты подписи вебхуков до смены" },
  },
  callback_secret: {
    table: "webhook_settings",
    idColumn: "workspace_id",
    column: "callback_secret",
    rows: settingsRows,
    label: settingsLabel,
    name: { en: "status callback secrets", ru: "секреты подписи обратных вызовов статуса" },
  },
  previous_callback_secret: {
    table: "webhook_settings",
    idColumn: "workspace_id",
    column: "previous_callback_secret",
    rows: settingsRows,
    label: settingsLabel,
    name: {
      en: "status callback secrets before a rotation",
      ru: "секреты подписи обратных вызовов статуса до смены",
    },
  },
} satisfies Record<
  string,
  {
    table: string;
    idColumn: string;
    column: string;
    rows: (column: string) => SQL;
    label: (named: string) => string;
    name: Translated;
  }
>;

/** Every sealed value in the store, and whether `box` opens it (none does without a box). */
export async function surveySecrets(db: Db, box: SecretBox | undefined): Promise<StoredSecret[]> {
  const columns = new Set(
    (
      await queryRows<{ place: string }>(
        db,
        sql`select table_name || '.' || column_name as place from information_schema.columns where table_schema = current_schema()`,
      )
    ).map((row) => row.place),
  );
  const secrets: StoredSecret[] = [];
  for (const [kind, place] of Object.entries(places) as [SecretKind, (typeof places)[SecretKind]][]) {
    if (!columns.has(`${place.table}.${place.column}`)) continue;
    for (const row of await queryRows<SealedRow>(db, place.rows(place.column))) {
      secrets.push({
        kind,
        id: row.id,
        workspaceId: row.workspace_id,
        label: place.label(row.named),
        sealed: row.sealed,
        readable: box !== undefined && opens(box, row.sealed),
      });
    }
  }
  return secrets;
}

function opens(box: SecretBox, sealed: string): boolean {
  try {
    box.open(sealed);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === "secret_key_mismatch") return false;
    throw error;
  }
}

/** "channel tokens: 2 of 3; webhook signing secrets: 1 of 1", counting the unreadable ones. */
export function describeUnreadable(secrets: readonly StoredSecret[]): Translated {
  const parts = { en: [] as string[], ru: [] as string[] };
  for (const [kind, place] of Object.entries(places) as [SecretKind, (typeof places)[SecretKind]][]) {
    const stored = secrets.filter((secret) => secret.kind === kind);
    const unreadable = stored.filter((secret) => !secret.readable).length;
    if (unreadable === 0) continue;
    parts.en.push(`${place.name.en}: ${unreadable} of ${stored.length}`);
    parts.ru.push(`${place.name.ru}: ${unreadable} из ${stored.length}`);
  }
  return { en: parts.en.join("; "), ru: parts.ru.join("; ") };
}

/**
 * The key a hub started with `config` uses: the configured one, else the data directory's key
 * file. `key` is undefined when there is neither yet (a hub would generate the file).
 */
export function keyInUse(config: Config): { key?: Buffer; configured: boolean; keyFile?: string } {
  checkKeyConfigured(config);
  const keyFile = config.databaseUrl ? undefined : keyFilePath(resolve(config.dataDir));
  if (config.secretKey) return { key: Buffer.from(config.secretKey, "base64"), configured: true, keyFile };
  return { key: keyFile ? readKeyFile(keyFile) : undefined, configured: false, keyFile };
}

/** What a refused key meant: a hub did not start; doctor only tried it. */
const outcomes: Record<"hub" | "doctor", Translated> = {
  hub: { en: "The hub did not start, and changed nothing.", ru: "Хаб не запущен и ничего не изменил." },
  doctor: {
    en: "A hub given this key would not start (doctor changed nothing).",
    ru: "Хаб с этим ключом не запустится (doctor ничего не изменил).",
  },
};

/**
 * Checks, before anything in the store changes, that the hub's key opens every secret the store
 * holds, and refuses with `store_secret_key_mismatch` naming the key the store needs (and, `by`,
 * whether a hub did not start or doctor only tried the key). It writes
 * nothing: in embedded mode without a configured key it reads the data directory's key file if
 * there is one, and never generates it. Returns how many secrets the store holds.
 */
export async function checkStoreKey(
  config: Config,
  store: Store,
  by: "hub" | "doctor" = "hub",
): Promise<number> {
  const { key: keyInUseNow, configured, keyFile } = keyInUse(config);
  const secrets = await surveySecrets(store.db, keyInUseNow && new SecretBox(keyInUseNow));
  if (secrets.every((secret) => secret.readable)) return secrets.length;
  let key: Translated;
  let needed: Translated;
  if (configured) {
    key = { en: "The configured SWITCHBOARD_SECRET_KEY", ru: "Настроенный SWITCHBOARD_SECRET_KEY" };
    needed =
      keyFile && (await keyFileOpens(store, keyFile))
        ? {
            en: `the one in ${keyFile}, which the hub uses when SWITCHBOARD_SECRET_KEY is not set: unset SWITCHBOARD_SECRET_KEY (and \`secretKey\` in the config file), or set it to that file's content.`,
            ru: `ключ из ${keyFile}, которым хаб пользуется, когда SWITCHBOARD_SECRET_KEY не задан: уберите SWITCHBOARD_SECRET_KEY (и \`secretKey\` в файле настроек) или задайте в нём содержимое этого файла.`,
          }
        : {
            en: "the SWITCHBOARD_SECRET_KEY the hub had when they were stored (every hub process on one database needs that same key).",
            ru: "тот SWITCHBOARD_SECRET_KEY, который был у хаба, когда они сохранялись (всем процессам хаба на одной базе нужен этот же ключ).",
          };
  } else {
    key = keyInUseNow
      ? { en: `The key in ${keyFile}`, ru: `Ключ из ${keyFile}` }
      : {
          en: `Without a key (SWITCHBOARD_SECRET_KEY is not set, and ${keyFile} does not exist), the hub`,
          ru: `Без ключа (SWITCHBOARD_SECRET_KEY не задан, а файла ${keyFile} нет) хаб`,
        };
    needed = {
      en: `the SWITCHBOARD_SECRET_KEY the hub had when they were stored, if it had one (set it again); otherwise the ${keyFile} of that time (restore it from the backup of the data directory).`,
      ru: `тот SWITCHBOARD_SECRET_KEY, который был у хаба, когда они сохранялись, если он был задан (задайте его снова); иначе тот ${keyFile}, что был тогда (восстановите его из резервной копии каталога данных).`,
    };
  }
  throw new AppError("store_secret_key_mismatch", {
    location: store.location,
    key,
    outcome: outcomes[by],
    needed,
    unreadable: describeUnreadable(secrets),
  });
}

/** Whether the data directory's key file opens every secret; a file that cannot be read does not. */
async function keyFileOpens(store: Store, keyFile: string): Promise<boolean> {
  let fileKey: Buffer | undefined;
  try {
    fileKey = readKeyFile(keyFile);
  } catch {
    return false;
  }
  if (!fileKey) return false;
  return (await surveySecrets(store.db, new SecretBox(fileKey))).every((secret) => secret.readable);
}

const endpointDisabledReason =
  "its signing secret was sealed with an encryption key that was lost, and `switchboard secrets forget` replaced it: rotate it (POST /v1/webhooks/{id}/rotate-secret), give the new secret to the receiver, then enable the endpoint";

/** What forgetting each kind of secret does to its row. */
const forgetters: Record<
  SecretKind,
  (db: Db, box: SecretBox, secret: StoredSecret, at: Date) => Promise<void>
> = {
  // The tokens go; the channel stays, failing with the remedy, until it is connected again.
  async channel_credentials(db, _box, { id }, at) {
    await db
      .update(channelAccount)
      .set({ credentials: null, updatedAt: at })
      .where(eq(channelAccount.id, id));
    const text = describeError("channel_credentials_lost", "en");
    await transitionChannelState(
      db,
      id,
      {
        state: "failing",
        reason: `${text.message} ${text.remedy}`,
        problem: { code: "channel_credentials_lost", params: {} },
        from: connectionStates.filter((state) => state !== "disabled"),
      },
      recordChannelStatus,
    );
  },
  // A new secret nobody knows yet, and the endpoint disabled (its events held) until its
  // receiver has one from a rotation: requests signed with an unknown secret would be refused.
  async endpoint_secret(db, box, { id }, at) {
    const reason = endpointDisabledReason.replace("{id}", id);
    const [endpoint] = await db
      .update(webhookEndpoint)
      .set({
        secret: box.seal(newSigningSecret()),
        previousSecret: null,
        previousSecretExpiresAt: null,
        updatedAt: at,
      })
      .where(eq(webhookEndpoint.id, id))
      .returning();
    if (!endpoint) return;
    if (endpoint.enabled) await disableEndpointAndTell(db, endpoint, reason, at);
    else await db.update(webhookEndpoint).set({ disabledReason: reason }).where(eq(webhookEndpoint.id, id));
  },
  async endpoint_previous_secret(db, _box, { id }, at) {
    await db
      .update(webhookEndpoint)
      .set({ previousSecret: null, previousSecretExpiresAt: null, updatedAt: at })
      .where(eq(webhookEndpoint.id, id));
  },
  // Status callbacks cannot be held: they go on, signed with a new secret the receivers get
  // from a rotation.
  async callback_secret(db, box, { id }, at) {
    await db
      .update(webhookSettings)
      .set({
        callbackSecret: box.seal(newSigningSecret()),
        callbackSecretRotatedAt: at,
        previousCallbackSecret: null,
        previousCallbackSecretExpiresAt: null,
        updatedAt: at,
      })
      .where(eq(webhookSettings.workspaceId, id));
  },
  async previous_callback_secret(db, _box, { id }, at) {
    await db
      .update(webhookSettings)
      .set({ previousCallbackSecret: null, previousCallbackSecretExpiresAt: null, updatedAt: at })
      .where(eq(webhookSettings.workspaceId, id));
  },
};

/**
 * Drops every secret `box` cannot open, in one transaction, and returns the survey it acted on
 * (the unreadable ones are those forgotten). Channels lose their tokens and go `failing`
 * (`channel_credentials_lost`); webhook endpoints get a new signing secret and are disabled until
 * it is rotated; workspaces' status callbacks get a new secret. Secrets the key opens stay.
 */
export async function forgetUnreadableSecrets(
  db: Db,
  box: SecretBox,
  at = new Date(),
): Promise<StoredSecret[]> {
  return db.transaction(async (tx) => {
    const secrets = await surveySecrets(tx, box);
    for (const secret of secrets) if (!secret.readable) await forgetters[secret.kind](tx, box, secret, at);
    return secrets;
  });
}

/**
 * Reseals with `to` every secret sealed with `from`, in one transaction. Secrets `to` already
 * opens stay as they are (counted in `kept`), so a run that stopped can be run again. When some
 * open with neither key nothing changes: `secrets_unopenable` counts them.
 */
export async function rekeySecrets(
  db: Db,
  from: SecretBox,
  to: SecretBox,
): Promise<{ resealed: StoredSecret[]; kept: number }> {
  return db.transaction(async (tx) => {
    const secrets = await surveySecrets(tx, to);
    const pending = secrets.filter((secret) => !secret.readable);
    const eitherKey = secrets.map((secret) =>
      secret.readable ? secret : { ...secret, readable: opens(from, secret.sealed) },
    );
    if (eitherKey.some((secret) => !secret.readable))
      throw new AppError("secrets_unopenable", { unreadable: describeUnreadable(eitherKey) });
    for (const secret of pending) {
      const { table, idColumn, column } = places[secret.kind];
      await tx.execute(
        sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${to.seal(from.open(secret.sealed))} where ${sql.identifier(idColumn)} = ${secret.id}::uuid and ${sql.identifier(column)} = ${secret.sealed}`,
      );
    }
    return { resealed: pending, kept: secrets.length - pending.length };
  });
}
