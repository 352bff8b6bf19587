import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull, ne, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import { advisoryKey, type Db } from "../database.ts";
import { isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import { apiKey } from "../schema.ts";

export type ApiKey = typeof apiKey.$inferSelect;

const revocationLock = advisoryKey("api-keys:revoke");

const keyPrefix = "sbk_";

/** Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force. */
export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/** Creates a key; the returned `secret` is the only time the whole key exists outside its owner. */
export async function createApiKey(
  db: Db,
  input: { workspaceId: string; name: string; admin?: boolean },
): Promise<{ key: ApiKey; secret: string }> {
  const secret = keyPrefix + randomBytes(32).toString("base64url");
  const [key] = await db
    .insert(apiKey)
    .values({
      workspaceId: input.workspaceId,
      name: input.name,
      admin: input.admin ?? false,
      prefix: secret.slice(0, keyPrefix.length + 6),
      hash: hashKey(secret),
    })
    .returning();
  return { key: key as ApiKey, secret };
}

/** The active key with this secret, or undefined. */
export async function findActiveKey(db: Db, secret: string): Promise<ApiKey | undefined> {
  if (!secret.startsWith(keyPrefix)) return undefined;
  const [row] = await db
    .select()
    .from(apiKey)
    .where(and(eq(apiKey.hash, hashKey(secret)), isNull(apiKey.revokedAt)));
  return row;
}

export async function touchKey(db: Db, id: string, at: Date): Promise<void> {
  await db.update(apiKey).set({ lastUsedAt: at }).where(eq(apiKey.id, id));
}

export async function listApiKeys(db: Db, workspaceId: string | undefined, page: PageRequest) {
  const list = newestFirst("api-keys", apiKey.id, page);
  const rows = await db
    .select()
    .from(apiKey)
    .where(and(workspaceId ? eq(apiKey.workspaceId, workspaceId) : undefined, list.after))
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

/** A revoked key, and whether it already was: revoking it again changes nothing and succeeds. */
export interface Revocation {
  key: ApiKey & { revokedAt: Date };
  alreadyRevoked: boolean;
}

/**
 * Revokes a key. `workspaceId` limits it to one workspace (the CLI passes none); only an admin
 * may revoke an admin key. The last active admin key is kept, since without it nobody could
 * manage workspaces, and so is each workspace's last active key, since without it the workspace
 * could not use the API until someone with shell access to the hub made a new one.
 */
export async function revokeApiKey(
  db: Db,
  id: string,
  by: { workspaceId?: string; admin: boolean },
): Promise<Revocation> {
  const { workspaceId } = by;
  return db.transaction(async (tx) => {
    // Revocations take turns: two racing for a workspace's (or the hub's) last two keys must not
    // both see the other one still active. Row locks taken set by set could deadlock instead.
    await tx.execute(sql`select pg_advisory_xact_lock(${revocationLock}::bigint)`);
    const [key] = isUuid(id)
      ? await tx
          .select()
          .from(apiKey)
          .where(and(eq(apiKey.id, id), workspaceId ? eq(apiKey.workspaceId, workspaceId) : undefined))
      : [];
    if (!key) throw new AppError("api_key_not_found", { id });
    if (key.revokedAt) return { key: { ...key, revokedAt: key.revokedAt }, alreadyRevoked: true };
    const othersActive = (scope: SQL) =>
      tx.$count(apiKey, and(scope, isNull(apiKey.revokedAt), ne(apiKey.id, id)));
    if (key.admin) {
      if (!by.admin) throw new AppError("admin_required");
      if ((await othersActive(eq(apiKey.admin, true))) === 0) throw new AppError("last_admin_key");
    }
    if ((await othersActive(eq(apiKey.workspaceId, key.workspaceId))) === 0)
      throw new AppError("last_workspace_key");
    const [revoked] = await tx
      .update(apiKey)
      .set({ revokedAt: new Date() })
      .where(eq(apiKey.id, id))
      .returning();
    return { key: revoked as Revocation["key"], alreadyRevoked: false };
  });
}
