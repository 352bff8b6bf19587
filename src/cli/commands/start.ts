import type { Command } from "commander";
import { configFrom, withSettings } from "../options.ts";
import { action, say } from "../output.ts";
import { stopOnSignals } from "../signals.ts";

export function registerStart(program: Command) {
  withSettings(program.command("start").description("Run the hub: HTTP API, intake and delivery")).action(
    action(async (options: Record<string, unknown>) => {
      const config = configFrom(options);
      const { startHub } = await import("../../hub/hub.ts");
      const hub = await startHub(config, { say });
      // Before it says so: a signal sent as soon as the line appears must find the handler.
      stopOnSignals(() => hub.close());
      say(`Switchboard is running at ${hub.url} (API reference ${hub.url}/docs). Stop it with Ctrl+C.`);
    }),
  );
}
