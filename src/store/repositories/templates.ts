import { and, eq, inArray } from "drizzle-orm";
import { type TemplateVariable, validateTemplate } from "../../core/template.ts";
import { AppError } from "../../errors/app-error.ts";
import { type Db, isUniqueViolation } from "../database.ts";
import { idIs, isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import { type channelKinds, type StoredTemplateBody, template } from "../schema.ts";

export type Template = typeof template.$inferSelect;
type ChannelKind = (typeof channelKinds)[number];

export interface TemplateInput {
  name: string;
  description?: string | null | undefined;
  variables?: TemplateVariable[] | undefined;
  bodies?: Partial<Record<ChannelKind, StoredTemplateBody>> | undefined;
  fallback?: StoredTemplateBody | null | undefined;
}

/** Fields left out are kept; `bodies` is merged kind by kind, a kind set to null loses its body. */
export interface TemplatePatch {
  name?: string | undefined;
  description?: string | null | undefined;
  variables?: TemplateVariable[] | undefined;
  bodies?: Partial<Record<ChannelKind, StoredTemplateBody | null>> | undefined;
  fallback?: StoredTemplateBody | null | undefined;
}

/** Stores a new template after `validateTemplate`; a name taken in the workspace is refused. */
export async function createTemplate(db: Db, workspaceId: string, input: TemplateInput): Promise<Template> {
  const values = {
    workspaceId,
    name: input.name,
    description: input.description ?? null,
    variables: input.variables ?? [],
    bodies: input.bodies ?? {},
    fallback: input.fallback ?? null,
  };
  validateTemplate(values);
  const [row] = await db.insert(template).values(values).onConflictDoNothing().returning();
  if (row) return row;
  const holder = await findTemplateByName(db, workspaceId, input.name);
  if (holder) throw new AppError("template_name_taken", { name: input.name, id: holder.id });
  return createTemplate(db, workspaceId, input); // the holder was deleted in between
}

export async function getTemplate(db: Db, workspaceId: string, id: string): Promise<Template | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select()
    .from(template)
    .where(and(eq(template.workspaceId, workspaceId), eq(template.id, id)));
  return row;
}

export async function requireTemplate(db: Db, workspaceId: string, id: string): Promise<Template> {
  const found = await getTemplate(db, workspaceId, id);
  if (!found) throw new AppError("template_not_found", { template: id });
  return found;
}

/** A workspace's template by its exact name (what sends give as `template`, Devino as `tmpl`). */
export async function findTemplateByName(
  db: Db,
  workspaceId: string,
  name: string,
): Promise<Template | undefined> {
  const [row] = await db
    .select()
    .from(template)
    .where(and(eq(template.workspaceId, workspaceId), eq(template.name, name)));
  return row;
}

export async function requireTemplateByName(db: Db, workspaceId: string, name: string): Promise<Template> {
  const found = await findTemplateByName(db, workspaceId, name);
  if (!found) throw new AppError("template_not_found", { template: name });
  return found;
}

/** Many templates by name in one query (a batch send's items); names not found are absent. */
export async function findTemplatesByName(
  db: Db,
  workspaceId: string,
  names: Iterable<string>,
): Promise<Map<string, Template>> {
  const wanted = [...new Set(names)];
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select()
    .from(template)
    .where(and(eq(template.workspaceId, workspaceId), inArray(template.name, wanted)));
  return new Map(rows.map((row) => [row.name, row]));
}

export interface TemplateFilter {
  /** Exact name: the list holds that template or nothing. */
  name?: string | undefined;
}

export async function listTemplates(db: Db, workspaceId: string, filter: TemplateFilter, page: PageRequest) {
  const list = newestFirst("templates", template.id, page);
  const rows = await db
    .select()
    .from(template)
    .where(
      and(
        eq(template.workspaceId, workspaceId),
        filter.name !== undefined ? eq(template.name, filter.name) : undefined,
        list.after,
      ),
    )
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

/**
 * Applies a patch under a row lock (two patches of one template cannot lose each other's bodies),
 * then validates the whole result: removing a variable a body still uses is refused.
 */
export async function updateTemplate(
  db: Db,
  workspaceId: string,
  id: string,
  patch: TemplatePatch,
): Promise<Template> {
  const update = db.transaction(async (tx) => {
    const [current] = isUuid(id)
      ? await tx
          .select()
          .from(template)
          .where(and(eq(template.workspaceId, workspaceId), eq(template.id, id)))
          .for("update")
      : [];
    if (!current) throw new AppError("template_not_found", { template: id });
    const bodies = { ...current.bodies };
    for (const [kind, body] of Object.entries(patch.bodies ?? {}) as [
      ChannelKind,
      StoredTemplateBody | null,
    ][]) {
      if (body === null) delete bodies[kind];
      else bodies[kind] = body;
    }
    const next = {
      name: patch.name ?? current.name,
      description: patch.description !== undefined ? patch.description : current.description,
      variables: patch.variables ?? current.variables,
      bodies,
      fallback: patch.fallback !== undefined ? patch.fallback : current.fallback,
    };
    validateTemplate(next);
    if (next.name !== current.name) {
      const holder = await findTemplateByName(tx, workspaceId, next.name);
      if (holder) throw new AppError("template_name_taken", { name: next.name, id: holder.id });
    }
    const [row] = await tx
      .update(template)
      .set({ ...next, updatedAt: new Date() })
      .where(eq(template.id, current.id))
      .returning();
    return row as Template;
  });
  return update.catch(async (error) => {
    // A rename racing another request that took the same name a moment earlier.
    if (patch.name === undefined || !isUniqueViolation(error, "template_name_key")) throw error;
    const holder = await findTemplateByName(db, workspaceId, patch.name);
    throw new AppError("template_name_taken", { name: patch.name, id: holder?.id ?? "?" }, { cause: error });
  });
}

/** Deletes a template; messages already accepted keep the text rendered from it. */
export async function deleteTemplate(db: Db, workspaceId: string, id: string): Promise<Template> {
  const [row] = await db
    .delete(template)
    .where(and(eq(template.workspaceId, workspaceId), idIs(template.id, id)))
    .returning();
  if (!row) throw new AppError("template_not_found", { template: id });
  return row;
}
