// Additive migrations: what may carry the marker, and an older version running on a store a
// newer version only added to (a rolling upgrade of hub processes).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { AppError } from "../errors/app-error.ts";
import { storeKinds } from "../testing/stores.ts";
import type { Store } from "./database.ts";
import { additiveMarker, isMarkedAdditive, knownMigrations, migrate, migrationStatus } from "./migrations.ts";
import { createChannelAccount } from "./repositories/channel-accounts.ts";
import { createContact } from "./repositories/contacts.ts";
import { createConversation } from "./repositories/conversations.ts";
import { recordMessages } from "./repositories/messages.ts";
import { createWorkspace } from "./repositories/workspaces.ts";
import { SecretBox } from "./secret-box.ts";

/**
 * Why a migration's statements would break hubs of the version before it, or undefined when they
 * only add: tables, types, comments, indexes (unique ones only on a table made here), columns
 * that are nullable or have a default, and constraints of a table made here. Anything else (a
 * drop, a rename, a changed column, a data change) is not additive.
 */
function whyNotAdditive(statements: readonly string[]): string | undefined {
  const made = new Set<string>();
  const tableMadeHere = (statement: string, pattern: RegExp) => made.has(statement.match(pattern)?.[1] ?? "");
  for (const text of statements) {
    const statement = text.replace(/--.*$/gm, "").replace(/\s+/g, " ").trim().replace(/;$/, "");
    if (statement === "") continue;
    const createdTable = statement.match(/^CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?/i);
    if (createdTable) {
      made.add(createdTable[1] as string);
      continue;
    }
    if (/^(CREATE TYPE|COMMENT ON) /i.test(statement)) continue;
    if (/^CREATE INDEX /i.test(statement)) continue;
    if (/^CREATE UNIQUE INDEX /i.test(statement) && tableMadeHere(statement, / ON "?(\w+)"?/i)) continue;
    const addedColumn = statement.match(/^ALTER TABLE "?\w+"? ADD COLUMN (?:IF NOT EXISTS )?"?\w+"? (.*)$/i);
    if (addedColumn) {
      const definition = addedColumn[1] as string;
      if (!/\bNOT NULL\b/i.test(definition) || /\bDEFAULT\b/i.test(definition)) continue;
      return `${statement}: a NOT NULL column without a default fails the older version's inserts`;
    }
    if (
      /^ALTER TABLE "?\w+"? ADD CONSTRAINT /i.test(statement) &&
      tableMadeHere(statement, /^ALTER TABLE "?(\w+)"?/i)
    )
      continue;
    return statement;
  }
  return undefined;
}

describe("additive migrations", () => {
  it(`marks as additive (first line "${additiveMarker}") only migrations that only add`, () => {
    for (const migration of knownMigrations()) {
      if (!migration.additive) continue;
      assert.equal(whyNotAdditive(migration.sql), undefined, `migration ${migration.folderMillis}`);
    }
  });

  it("tells a migration that only adds from one that changes what the older version reads", () => {
    const additive = [
      `${additiveMarker}\n-- Notes on contacts.\nCREATE TABLE "contact_note" ("id" uuid PRIMARY KEY, "contact_id" uuid NOT NULL);`,
      'ALTER TABLE "contact_note" ADD CONSTRAINT "note_contact_fk" FOREIGN KEY ("contact_id") REFERENCES "contact"("id");',
      'CREATE UNIQUE INDEX "contact_note_idx" ON "contact_note" USING btree ("contact_id");',
      'CREATE INDEX "message_sent_idx" ON "message" USING btree ("sent_at");',
      'ALTER TABLE "message" ADD COLUMN "note" text;',
      'ALTER TABLE "message" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;',
    ];
    assert.equal(isMarkedAdditive(additive), true);
    assert.equal(whyNotAdditive(additive), undefined);
    assert.equal(isMarkedAdditive(additive.slice(1)), false, "the marker is the first line's");
    for (const breaking of [
      'ALTER TABLE "message" DROP COLUMN "text_by_kind";',
      'ALTER TABLE "message" RENAME COLUMN "text" TO "body";',
      'ALTER TABLE "message" ALTER COLUMN "text" SET NOT NULL;',
      'ALTER TABLE "message" ADD COLUMN "body" jsonb NOT NULL;',
      'CREATE UNIQUE INDEX "message_text_idx" ON "message" USING btree ("text");',
      'ALTER TABLE "message" ADD CONSTRAINT "message_text_check" CHECK ("text" <> \'\');',
      'UPDATE "message" SET "status" = \'sent\';',
      'DROP INDEX "message_sent_idx";',
    ]) {
      assert.ok(whyNotAdditive([additive[0] as string, breaking]), breaking);
    }
  });
});

for (const kind of storeKinds) {
  describe(`migrations of a newer version on ${kind.name}`, () => {
    let store: Store & { drop(): Promise<void> };

    before(async () => {
      store = await kind.open();
    });
    after(() => store.drop());

    /** What a newer version's migration leaves: a row this version has no file for. */
    async function newerMigration(additive: boolean) {
      const createdAt = Date.now() + 86_400_000 + Math.floor(Math.random() * 1_000_000);
      await store.db.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from a newer version', ${createdAt})`,
      );
      if (additive)
        await store.db.execute(
          sql`insert into drizzle.switchboard_additive_migrations (created_at) values (${createdAt})`,
        );
    }

    it("runs on a store a newer version only added to, and refuses one it changed", async () => {
      const own = await migrationStatus(store.db);
      assert.deepEqual(
        [own.applied, own.newer, own.newerBreaking, own.pendingBreaking],
        [own.known, 0, 0, 0],
      );
      await newerMigration(true);
      await newerMigration(true);
      const beside = await migrationStatus(store.db);
      assert.deepEqual([beside.newer, beside.newerBreaking], [2, 0]);
      assert.deepEqual(await migrate(store), beside, "nothing to apply, nothing refused");
      await newerMigration(false);
      await assert.rejects(migrate(store), (error: unknown) => {
        assert.ok(error instanceof AppError && error.code === "store_newer_than_version", String(error));
        assert.match(
          error.message,
          /it has 3 migrations this version does not know \(this version knows \d+\), 1 of them not additive/,
        );
        return true;
      });
    });

    it("keeps a running hub's prepared statements working after a newer version adds a column", async () => {
      const box = new SecretBox(Buffer.alloc(32, 7));
      const workspaceId = (await createWorkspace(store.db, "Rolling upgrade")).id;
      const channel = await createChannelAccount(store.db, box, {
        workspaceId,
        kind: "vk",
        externalId: "1",
        name: "VK",
      });
      const contact = await createContact(store.db, workspaceId, {});
      const thread = await createConversation(store.db, {
        workspaceId,
        channelAccountId: channel.id,
        contactId: contact.id,
        kind: "direct",
      });
      const arrive = (externalId: string) =>
        recordMessages(store.db, [
          {
            id: uuidv7(),
            workspaceId,
            channelAccountId: channel.id,
            conversationId: thread.id,
            contactId: contact.id,
            direction: "inbound",
            authorKind: "contact",
            authorRef: "1",
            status: "received",
            text: `message ${externalId}`,
            attachments: [],
            externalId,
            sentAt: new Date(),
            replyToMessageId: null,
          },
        ]);
      // Sequential queries reuse one pooled connection, which keeps the statement prepared.
      for (const externalId of ["a", "b", "c"]) assert.equal((await arrive(externalId)).length, 1);
      await store.db.execute(sql`alter table message add column from_a_newer_version text default 'new'`);
      for (const externalId of ["d", "e", "f"]) {
        const [stored] = await arrive(externalId);
        assert.equal(stored?.externalId, externalId);
      }
    });
  });
}
