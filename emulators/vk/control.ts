/**
 * The control API under `/_control`: JSON in, JSON out; every route is one call of the control
 * object (`actions/`). Bodies are checked with zod; a bad body is 400, an unknown community, user
 * or message 404, a conflict 409. docs/emulators.md lists every route with a curl example.
 */
import { Hono } from "hono";
import { z } from "zod";
import type { VkControl } from "./actions/index.ts";
import { allScopes, type CommentKind } from "./model.ts";
import { ControlError } from "./state.ts";

const id = z.number().int();
const scopes = z.array(z.enum(allScopes as [string, ...string[]])).transform((s) => s as typeof allScopes);
const events = z.array(z.string());
const clientInfo = z
  .object({
    button_actions: z.array(z.string()),
    keyboard: z.boolean(),
    inline_keyboard: z.boolean(),
    carousel: z.boolean(),
    lang_id: z.number().int(),
  })
  .partial();
const longPoll = z.object({ enabled: z.boolean(), apiVersion: z.string(), events }).partial();
const object = z.record(z.string(), z.unknown());
const attachment = z.looseObject({ type: z.string() });

export const schemas = {
  community: z.object({
    id: id.positive().optional(),
    name: z.string().optional(),
    screenName: z.string().optional(),
    type: z.enum(["group", "page", "event"]).optional(),
    messagesEnabled: z.boolean().optional(),
    botFeatures: z.boolean().optional(),
    confirmationCode: z.string().optional(),
    wallLinksForbidden: z.boolean().optional(),
    tokens: z.array(z.object({ scopes: scopes.optional(), value: z.string().optional() })).optional(),
    longPoll: longPoll.optional(),
  }),
  communityPatch: z
    .object({
      name: z.string(),
      screenName: z.string(),
      messagesEnabled: z.boolean(),
      botFeatures: z.boolean(),
      wallLinksForbidden: z.boolean(),
      longPoll,
    })
    .partial(),
  token: z.object({ scopes: scopes.optional(), value: z.string().optional() }),
  code: z.object({ code: z.string().optional() }),
  server: z.object({
    status: z.enum(["unconfigured", "failed", "wait", "ok"]).optional(),
    confirmationCode: z.string().nullable().optional(),
    reconfirm: z.boolean().optional(),
  }),
  user: z.object({
    id: id.positive().optional(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    screenName: z.string().optional(),
    clientInfo: clientInfo.optional(),
    allowsMessages: z.boolean().optional(),
    deactivated: z.enum(["deleted", "banned"]).optional(),
  }),
  userPatch: z.object({
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    clientInfo: clientInfo.optional(),
    allowsMessages: z.boolean().optional(),
    deactivated: z.enum(["deleted", "banned"]).nullable().optional(),
  }),
  write: z.object({
    userId: id,
    text: z.string().optional(),
    attachments: z.array(attachment).optional(),
    payload: z.unknown().optional(),
    replyTo: id.optional(),
    clientInfo: clientInfo.optional(),
  }),
  edit: z.object({ text: z.string().optional(), attachments: z.array(attachment).optional() }),
  press: z.object({
    userId: id,
    label: z.string().optional(),
    messageId: id.optional(),
    type: z.enum(["text", "callback"]).optional(),
    payload: z.unknown().optional(),
  }),
  userOnly: z.object({ userId: id }),
  allow: z.object({ userId: id, key: z.string().optional() }),
  typing: z.object({ userId: id, state: z.string().optional() }),
  read: z.object({ userId: id, messageId: id.optional() }),
  join: z.object({
    userId: id,
    joinType: z.enum(["join", "unsure", "accepted", "approved", "request"]).optional(),
  }),
  leave: z.object({ userId: id, self: z.boolean().optional() }),
  wallPost: z.object({
    text: z.string().optional(),
    fromId: id.optional(),
    commentsClosed: z.boolean().optional(),
    linksForbidden: z.boolean().optional(),
  }),
  comment: z.object({
    userId: id,
    text: z.string().optional(),
    attachments: z.array(attachment).optional(),
    replyToComment: id.optional(),
    objectId: id.optional(),
  }),
  commentEdit: z.object({ text: z.string().optional(), attachments: z.array(attachment).optional() }),
  lead: z.object({
    userId: id,
    formId: id.optional(),
    formName: z.string().optional(),
    adId: id.optional(),
    answers: z.array(z.object({ key: z.string(), question: z.string().optional(), answer: z.unknown() })),
  }),
  event: z.object({ type: z.string().min(1), object: object.optional() }),
  failLongPoll: z.object({ failed: z.union([z.literal(1), z.literal(2), z.literal(3)]) }),
  fault: z
    .object({
      target: z.string().min(1),
      token: z.string().optional(),
      groupId: id.optional(),
      error: z.object({ code: id, detail: z.string().optional(), extra: object.optional() }).optional(),
      delayMs: z.number().int().min(0).optional(),
      drop: z.boolean().optional(),
      status: z.number().int().min(100).max(599).optional(),
      times: z.number().int().min(1).optional(),
      always: z.boolean().optional(),
    })
    .refine(
      (f) => f.error || f.delayMs !== undefined || f.drop || f.status,
      "a fault needs error, delayMs, drop or status",
    ),
};

const commentKinds: readonly string[] = ["wall", "photo", "video", "board", "market"] satisfies CommentKind[];
const isCommentKind = (kind: string): kind is CommentKind => commentKinds.includes(kind);

export function controlRoutes(control: VkControl) {
  const app = new Hono();
  const body = async <T extends z.ZodType>(c: { req: { json: () => Promise<unknown> } }, schema: T) =>
    schema.parse(await c.req.json().catch(() => ({}))) as z.output<T>;
  const num = (value: string | undefined) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new ControlError(400, `not an integer: ${value}`);
    return n;
  };
  const optionalNum = (value: string | undefined) => (value === undefined ? undefined : num(value));

  app.onError((error, c) => {
    if (error instanceof ControlError) return c.json({ error: error.message }, error.status);
    if (error instanceof z.ZodError) return c.json({ error: "invalid body", issues: error.issues }, 400);
    console.error("vk emulator: control failed", error);
    return c.json({ error: error instanceof Error ? error.message : String(error) }, 500);
  });

  app.get("/state", (c) => c.json({ communities: control.communities(), users: control.users() }));
  app.post("/reset", (c) => {
    control.reset();
    return c.json({ ok: true });
  });

  app.post("/communities", async (c) =>
    c.json(control.createCommunity(await body(c, schemas.community)), 201),
  );
  app.get("/communities", (c) => c.json(control.communities()));
  app.get("/communities/:gid", (c) => c.json(control.community(num(c.req.param("gid")))));
  app.patch("/communities/:gid", async (c) =>
    c.json(control.updateCommunity(num(c.req.param("gid")), await body(c, schemas.communityPatch))),
  );
  app.post("/communities/:gid/tokens", async (c) => {
    const { scopes: s, value } = await body(c, schemas.token);
    return c.json(control.addToken(num(c.req.param("gid")), s, value), 201);
  });
  app.delete("/communities/:gid/tokens/:token", (c) => c.json(control.revokeToken(c.req.param("token"))));
  app.post("/communities/:gid/confirmation-code", async (c) =>
    c.json(control.setConfirmationCode(num(c.req.param("gid")), (await body(c, schemas.code)).code)),
  );
  app.patch("/communities/:gid/servers/:sid", async (c) =>
    c.json(
      control.updateServer(num(c.req.param("gid")), num(c.req.param("sid")), await body(c, schemas.server)),
    ),
  );

  app.post("/users", async (c) => c.json(control.createUser(await body(c, schemas.user)), 201));
  app.get("/users", (c) => c.json(control.users()));
  app.patch("/users/:uid", async (c) =>
    c.json(control.updateUser(num(c.req.param("uid")), await body(c, schemas.userPatch))),
  );

  const gid = (c: { req: { param: (name: "gid") => string } }) => num(c.req.param("gid"));
  const kind = (c: { req: { param: (name: "kind") => string } }) => {
    const named = c.req.param("kind");
    if (!isCommentKind(named)) throw new ControlError(404, `comment kinds are ${commentKinds.join(", ")}`);
    return named;
  };
  app.post("/communities/:gid/messages", async (c) =>
    c.json(control.writeMessage(gid(c), await body(c, schemas.write)), 201),
  );
  app.patch("/communities/:gid/messages/:mid", async (c) =>
    c.json(control.editMessage(gid(c), num(c.req.param("mid")), await body(c, schemas.edit))),
  );
  app.post("/communities/:gid/buttons", async (c) =>
    c.json(control.pressButton(gid(c), await body(c, schemas.press))),
  );
  app.post("/communities/:gid/allow", async (c) => {
    const { userId, key } = await body(c, schemas.allow);
    return c.json(control.allowMessages(gid(c), userId, key));
  });
  app.post("/communities/:gid/deny", async (c) =>
    c.json(control.denyMessages(gid(c), (await body(c, schemas.userOnly)).userId)),
  );
  app.post("/communities/:gid/typing", async (c) => {
    const { userId, state } = await body(c, schemas.typing);
    return c.json(control.typing(gid(c), userId, state));
  });
  app.post("/communities/:gid/read", async (c) => {
    const { userId, messageId } = await body(c, schemas.read);
    return c.json(control.read(gid(c), userId, messageId));
  });
  app.post("/communities/:gid/join", async (c) => {
    const { userId, joinType } = await body(c, schemas.join);
    return c.json(control.join(gid(c), userId, joinType));
  });
  app.post("/communities/:gid/leave", async (c) => {
    const { userId, self } = await body(c, schemas.leave);
    return c.json(control.leave(gid(c), userId, self));
  });

  app.post("/communities/:gid/wall-posts", async (c) =>
    c.json(control.createWallPost(gid(c), await body(c, schemas.wallPost)), 201),
  );
  app.post("/communities/:gid/wall-posts/:pid/comments", async (c) =>
    c.json(control.commentWallPost(gid(c), num(c.req.param("pid")), await body(c, schemas.comment)), 201),
  );
  app.post("/communities/:gid/comments/:kind", async (c) => {
    const named = c.req.param("kind");
    if (!isCommentKind(named) || named === "wall")
      throw new ControlError(
        404,
        "comments are photo, video, board or market (wall: wall-posts/:pid/comments)",
      );
    return c.json(control.comment(named, gid(c), await body(c, schemas.comment)), 201);
  });
  app.patch("/communities/:gid/comments/:kind/:cid", async (c) =>
    c.json(control.editComment(kind(c), gid(c), num(c.req.param("cid")), await body(c, schemas.commentEdit))),
  );
  app.delete("/communities/:gid/comments/:kind/:cid", (c) =>
    c.json(
      control.deleteComment(kind(c), gid(c), num(c.req.param("cid")), optionalNum(c.req.query("deleterId"))),
    ),
  );
  app.post("/communities/:gid/comments/:kind/:cid/restore", (c) =>
    c.json(control.restoreComment(kind(c), gid(c), num(c.req.param("cid")))),
  );
  app.post("/communities/:gid/lead-forms", async (c) =>
    c.json(control.submitLeadForm(gid(c), await body(c, schemas.lead)), 201),
  );
  app.post("/communities/:gid/events", async (c) => {
    const { type, object: eventObject } = await body(c, schemas.event);
    return c.json(control.injectEvent(gid(c), type, eventObject), 201);
  });
  app.post("/communities/:gid/long-poll/fail", async (c) => {
    control.failLongPoll(gid(c), (await body(c, schemas.failLongPoll)).failed);
    return c.json({ ok: true });
  });

  app.get("/communities/:gid/outbox", (c) => c.json(control.outbox(gid(c))));
  app.get("/communities/:gid/conversations", (c) => c.json(control.conversations(gid(c))));
  app.get("/communities/:gid/conversations/:peer", (c) =>
    c.json(control.conversation(gid(c), num(c.req.param("peer")))),
  );
  app.get("/communities/:gid/comments", (c) => c.json(control.comments(gid(c))));

  app.get("/uploads", (c) => {
    const groupId = optionalNum(c.req.query("groupId"));
    const kind = c.req.query("kind");
    return c.json(
      control.uploads({ ...(groupId !== undefined ? { groupId } : {}), ...(kind ? { kind } : {}) }),
    );
  });
  app.get("/uploads/:id/bytes", (c) => {
    const { bytes, contentType } = control.uploadBytes(num(c.req.param("id")));
    return c.body(new Uint8Array(bytes), 200, { "Content-Type": contentType || "application/octet-stream" });
  });
  app.get("/events", (c) => {
    const groupId = optionalNum(c.req.query("groupId"));
    const type = c.req.query("type");
    return c.json(
      control.events({ ...(groupId !== undefined ? { groupId } : {}), ...(type ? { type } : {}) }),
    );
  });
  app.get("/deliveries", (c) => {
    const groupId = optionalNum(c.req.query("groupId"));
    const serverId = optionalNum(c.req.query("serverId"));
    return c.json(
      control.deliveries({
        ...(groupId !== undefined ? { groupId } : {}),
        ...(serverId !== undefined ? { serverId } : {}),
      }),
    );
  });
  app.get("/requests", (c) => {
    const groupId = optionalNum(c.req.query("groupId"));
    const method = c.req.query("method");
    return c.json(
      control.requests({ ...(groupId !== undefined ? { groupId } : {}), ...(method ? { method } : {}) }),
    );
  });

  app.post("/faults", async (c) => c.json(control.addFault(await body(c, schemas.fault)), 201));
  app.get("/faults", (c) => c.json(control.faults()));
  app.delete("/faults/:id", (c) => c.json({ removed: control.removeFault(num(c.req.param("id"))) }));
  app.delete("/faults", (c) => {
    control.clearFaults();
    return c.json({ ok: true });
  });
  return app;
}
