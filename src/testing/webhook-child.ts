// A hub process reduced to its webhook delivery worker, for the crash test: it opens the embedded
// store in SWITCHBOARD_DATA_DIR, delivers, and is killed with SIGKILL mid-request by the test.
import pino from "pino";
import { Egress } from "../net/egress.ts";
import { DeliveryWorker, systemClock } from "../pipeline/webhooks/worker.ts";
import { openStore } from "../store/database.ts";
import { SecretBox } from "../store/secret-box.ts";

const store = await openStore({ mode: "embedded", dataDir: process.env.SWITCHBOARD_DATA_DIR as string });
const box = new SecretBox(Buffer.from(process.env.SWITCHBOARD_SECRET_KEY as string, "base64"));
const worker = new DeliveryWorker(
  { store, box, egress: new Egress({ allow: ["127.0.0.1"] }), logger: pino({ level: "silent" }) },
  {
    concurrency: 4,
    perTarget: 4,
    timeoutMs: 2_000,
    retrySchedule: [5],
    disableAfterHours: 120,
    orderHoldAttempts: 4,
    pollMs: 50,
    clock: systemClock,
  },
);
await worker.start();
process.stdout.write("ready\n");
