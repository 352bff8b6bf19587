/**
 * `tsx emulators/vk/main.ts [--port 8090] [--host 127.0.0.1] [--config file.json]`
 *
 * The config file holds any option of config.ts, plus `seed`: communities and users to create at
 * start, with the bodies of `POST /_control/communities` and `POST /_control/users`.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { CommunityView, UserView } from "./actions/views.ts";
import { schemas } from "./control.ts";
import { startVkEmulator } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    host: { type: "string" },
    config: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  console.log("usage: tsx emulators/vk/main.ts [--port 8090] [--host 127.0.0.1] [--config file.json]");
  process.exit(0);
}

const seedSchema = z
  .object({
    communities: z.array(schemas.community).default([]),
    users: z.array(schemas.user).default([]),
  })
  .prefault({});

const file: Record<string, unknown> = values.config ? JSON.parse(readFileSync(values.config, "utf8")) : {};
const { seed: rawSeed, ...config } = file;
const seed = seedSchema.parse(rawSeed);
if (values.port !== undefined) config.port = Number(values.port);
if (values.host !== undefined) config.host = values.host;

const emulator = await startVkEmulator(config);
let communities: CommunityView[] = seed.communities.map((c) => emulator.control.createCommunity(c));
const users: UserView[] = seed.users.map((u) => emulator.control.createUser(u));
if (communities.length === 0) communities = [emulator.control.createCommunity({ name: "Sandbox community" })];
if (users.length === 0) users.push(emulator.control.createUser({ firstName: "Sandbox", lastName: "User" }));

const first = communities[0];
console.log(`VK emulator listening on ${emulator.url}

  API base (vk-io apiBaseUrl)  ${emulator.apiBaseUrl}
  Sandbox page                 ${emulator.url}/
  Control API                  ${emulator.url}/_control/state

Communities:`);
for (const c of communities) {
  console.log(
    `  ${c.id}  ${c.name}  token ${c.tokens[0]?.value ?? "(none)"}  confirmation code ${c.confirmationCode}`,
  );
}
console.log("Users:");
for (const u of users) console.log(`  ${u.id}  ${u.firstName} ${u.lastName}`);
console.log(`
With vk-io:
  new VK({ token: "${first?.tokens[0]?.value ?? "<token>"}", apiBaseUrl: "${emulator.apiBaseUrl}",
           agent: new http.Agent({ keepAlive: true }), apiLimit: 20 })

Write as a user:
  curl -X POST ${emulator.url}/_control/communities/${first?.id}/messages \\
       -H 'Content-Type: application/json' -d '{"userId": ${users[0]?.id}, "text": "Hello"}'

Press Ctrl+C to stop.`);

const stop = () => void emulator.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
