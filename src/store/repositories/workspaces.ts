import { eq } from "drizzle-orm";
import type { Db } from "../database.ts";
import { isUuid, newestFirst, type PageRequest } from "../pagination.ts";
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
  const list = newestFirst("workspaces", workspace.id, page);
  return list.page(await db.select().from(workspace).where(list.after).orderBy(list.order).limit(list.limit));
}

export async function updateWorkspace(
  db: Db,
  id: string,
  changes: { name?: string | undefined; routeOrder?: string[] | undefined },
): Promise<Workspace | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .update(workspace)
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.routeOrder === undefined ? {} : { routeOrder: changes.routeOrder }),
      updatedAt: new Date(),
    })
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
