import type { Command } from "commander";
import { startHub } from "../../hub/hub.ts";
import { configFrom, withSettings } from "../options.ts";
import { action, say } from "../output.ts";
import { stopOnSignals } from "../signals.ts";

export function registerStart(program: Command) {
  withSettings(program.command("start").description("Run the hub: HTTP API, intake and delivery")).action(
    action(async (options: Record<string, unknown>) => {
      const hub = await startHub(configFrom(options), { say });
      say(`Switchboard is running at ${hub.url} (API reference ${hub.url}/docs). Stop it with Ctrl+C.`);
      stopOnSignals(() => hub.close());
    }),
  );
}
