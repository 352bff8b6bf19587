import type { Command } from "commander";
import { configFrom, withSettings } from "../options.ts";
import { action, say } from "../output.ts";
import { runUntilSignal } from "../signals.ts";

export function registerStart(program: Command) {
  withSettings(program.command("start").description("Run the hub: HTTP API, intake and delivery")).action(
    action(async (options: Record<string, unknown>) => {
      const config = configFrom(options);
      const { startHub } = await import("../../hub/hub.ts");
      // A signal stops the hub cleanly from here on, also while it starts (see runUntilSignal).
      const hub = await runUntilSignal(
        (signal) => startHub(config, { say, signal }),
        (running) => running.close(),
      );
      say(`Switchboard is running at ${hub.url} (API reference ${hub.url}/docs). Stop it with Ctrl+C.`);
    }),
  );
}
