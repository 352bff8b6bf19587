import { desc, eq, lt } from "drizzle-orm";
import type { Db } from "../database.ts";
import { decodeCursor, isUuid, type PageRequest, toPage } from "../pagination.ts";
import { workspace } from "../schema.ts";

export type Workspace = typeof workspace.$inferSelect;

export async function createWorkspace(db: Db, name: string): Promise<Workspace> {
  const [row] = await db.insert(workspace).values({ name }).returning();
  return row as Workspace;
}

export async function getWorkspace(db: Db, id: string): Promise<Workspace | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db.select().from(workspace).where(eq(workspace.id, id));
  return row;
}

export async function listWorkspaces(db: Db, page: PageRequest) {
  const after = page.cursor ? decodeCursor("workspaces", page.cursor, 1)[0] : undefined;
  const rows = await db
    .select()
    .from(workspace)
    .where(after ? lt(workspace.id, after) : undefined)
    .orderBy(desc(workspace.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, "workspaces", (row) => [row.id]);
}

export async function renameWorkspace(db: Db, id: string, name: string): Promise<Workspace | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .update(workspace)
    .set({ name, updatedAt: new Date() })
    .where(eq(workspace.id, id))
    .returning();
  return row;
}

/** The first workspace ever created: the default one of a fresh hub. */
export async function oldestWorkspace(db: Db): Promise<Workspace | undefined> {
  const [row] = await db.select().from(workspace).orderBy(workspace.id).limit(1);
  return row;
}

export async function countWorkspaces(db: Db): Promise<number> {
  return db.$count(workspace);
}
