// A hub process reduced to its dispatcher, for the send crash test (src/pipeline/send/crash.test.ts):
// it opens the store named by SWITCHBOARD_DATABASE_URL (PostgreSQL) or SWITCHBOARD_DATA_DIR
// (embedded PGlite) and sends what is queued with short leases. The test kills it with SIGKILL;
// with SWITCHBOARD_DRAIN set it runs until nothing is queued or sending, then stops cleanly.
import { inArray } from "drizzle-orm";
import pino from "pino";
import { Egress, publicOnly } from "../net/egress.ts";
import { createSendService } from "../pipeline/send/create.ts";
import { Dispatcher } from "../pipeline/send/dispatcher.ts";
import { openStore } from "../store/database.ts";
import { message } from "../store/schema.ts";
import { SecretBox } from "../store/secret-box.ts";

const databaseUrl = process.env.SWITCHBOARD_DATABASE_URL;
const store = databaseUrl
  ? await openStore({ mode: "server", databaseUrl, poolSize: 5 })
  : await openStore({ mode: "embedded", dataDir: process.env.SWITCHBOARD_DATA_DIR as string });
const box = new SecretBox(Buffer.from(process.env.SWITCHBOARD_SECRET_KEY as string, "base64"));
const leaseMs = Number(process.env.SWITCHBOARD_LEASE_MS ?? 1_500);
const logger = pino({ level: process.env.SWITCHBOARD_TEST_LOG ?? "silent" });
// The crash test sends text only: nothing is fetched, so the default guard (public addresses only) does.
const sender = createSendService({ db: store.db, box, logger, leaseMs, egress: new Egress(publicOnly) });
const dispatcher = new Dispatcher(store, sender, logger, {
  pollMs: 50,
  leaseMs,
  idleReleaseMs: 1_000,
  expirySweepMs: 500,
});
await dispatcher.start();
process.stdout.write("ready\n");

if (process.env.SWITCHBOARD_DRAIN) {
  // Polled gently: on PGlite every query waits its turn with the dispatcher's.
  while ((await store.db.$count(message, inArray(message.status, ["queued", "sending"]))) > 0)
    await new Promise((resolve) => setTimeout(resolve, 250));
  await dispatcher.stop();
  sender.close();
  await store.close();
  process.stdout.write("drained\n");
  process.exit(0);
}
