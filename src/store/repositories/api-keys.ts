import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import type { Db } from "../database.ts";
import { isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import { apiKey } from "../schema.ts";

export type ApiKey = typeof apiKey.$inferSelect;

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

/**
 * Revokes a key. `workspaceId` limits it to one workspace (the CLI passes none); only an admin
 * may revoke an admin key, and the last active admin key is kept, since without it nobody could
 * manage workspaces.
 */
export async function revokeApiKey(
  db: Db,
  id: string,
  by: { workspaceId?: string; admin: boolean },
): Promise<ApiKey> {
  const { workspaceId } = by;
  return db.transaction(async (tx) => {
    const [key] = isUuid(id)
      ? await tx
          .select()
          .from(apiKey)
          .where(and(eq(apiKey.id, id), workspaceId ? eq(apiKey.workspaceId, workspaceId) : undefined))
          .for("update")
      : [];
    if (!key) throw new AppError("api_key_not_found", { id });
    if (key.revokedAt) return key;
    if (key.admin) {
      if (!by.admin) throw new AppError("admin_required");
      // Locking every active admin key serialises concurrent revocations of the last two.
      const admins = await tx
        .select({ id: apiKey.id })
        .from(apiKey)
        .where(and(eq(apiKey.admin, true), isNull(apiKey.revokedAt)))
        .for("update");
      if (!admins.some((admin) => admin.id !== id)) throw new AppError("last_admin_key");
    }
    const [revoked] = await tx
      .update(apiKey)
      .set({ revokedAt: new Date() })
      .where(eq(apiKey.id, id))
      .returning();
    return revoked as ApiKey;
  });
}
