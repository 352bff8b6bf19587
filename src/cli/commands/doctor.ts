import type { Command } from "commander";
import { withSettings } from "../options.ts";
import { action, printJson } from "../output.ts";
import { runStoppable } from "../signals.ts";

export function registerDoctor(program: Command) {
  withSettings(
    program.command("doctor").description("Check configuration, database, migrations, disk and channels"),
  )
    .option("--json", "print the results as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const { diagnose } = await import("./doctor-checks.ts");
        // Stopped by a signal, doctor prints no checks: a report without the rest would read as whole.
        const results = await runStoppable((signal) => diagnose(options, signal));
        if (options.json) printJson({ ok: results.every((r) => r.ok), checks: results });
        else {
          for (const r of results) {
            process.stdout.write(`${r.ok ? "OK     " : "PROBLEM"}  ${r.check}: ${r.detail}\n`);
            for (const note of r.notes ?? []) {
              process.stdout.write(`         ${note.kind}: ${note.message}\n`);
              if (note.remedy) process.stdout.write(`         remedy: ${note.remedy}\n`);
            }
            if (!r.notes && r.remedy) process.stdout.write(`         remedy: ${r.remedy}\n`);
          }
        }
        if (!results.every((r) => r.ok)) process.exitCode = 1;
      }),
    );
}
