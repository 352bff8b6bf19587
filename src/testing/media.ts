import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Writes a generated sound (an ffmpeg lavfi source, a 440 Hz tone by default) to `path`, encoded by its extension. */
export async function generateAudio(
  path: string,
  options: { source?: string; seconds: number; codecArgs?: string[] },
): Promise<string> {
  await run("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    options.source ?? "sine=frequency=440",
    "-t",
    String(options.seconds),
    ...(options.codecArgs ?? []),
    "-y",
    path,
  ]);
  return path;
}
