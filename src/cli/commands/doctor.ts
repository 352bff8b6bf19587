import type { Command } from "commander";
import { withSettings } from "../options.ts";
import { action, printJson } from "../output.ts";

export function registerDoctor(program: Command) {
  withSettings(
    program.command("doctor").description("Check configuration, database, migrations, disk and channels"),
  )
    .option("--json", "print the results as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const { diagnose } = await import("./doctor-checks.ts");
        const results = await diagnose(options);
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
