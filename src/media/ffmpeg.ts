/**
 * Voice messages through the `ffmpeg` binary. VK takes voice messages as OGG/Opus, 16 kHz,
 * ~16 kbps, at most 5 minutes (dev.vk.com upload/audio-record; reference §3.5), and a voice that
 * does not play on phones is the classic symptom of sending anything else (seed 000 says "MP3
 * mono" for Salebot's route; VK's own rule and SDKs say OGG/Opus, which we follow). Whatever the
 * caller sends (MP3, WAV, M4A, OGG, …) is transcoded to that, mono.
 *
 * ffmpeg is spawned, not linked: install it on the hub's machine (`apt-get install ffmpeg`); a
 * missing binary is the catalogued `ffmpeg_missing`. A failed conversion says why in every
 * language (a `Translated` reason), since the answer it reaches is in the caller's; ffmpeg's own
 * words, which have no translation, are quoted inside the sentence.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { AppError, type Translated } from "../errors/app-error.ts";

export const voiceDefaults = {
  /** VK's limit for a voice message, in seconds. */
  maxSeconds: 300,
  sampleRate: 16_000,
  bitrate: "16k",
  timeoutMs: 120_000,
  ffmpegPath: "ffmpeg",
} as const;

export interface VoiceOptions {
  maxSeconds?: number;
  timeoutMs?: number;
  /** The ffmpeg binary: a name on PATH or a path. */
  ffmpegPath?: string;
}

export interface VoiceOgg {
  data: Buffer;
  /** Seconds, from the Ogg stream's last granule position. */
  durationSeconds: number;
}

/**
 * Transcodes audio (a Buffer, or the path of a file) into a VK voice message: Ogg container,
 * Opus codec, mono, 16 kHz, 16 kbps. Refuses a result longer than `maxSeconds`
 * (`media_voice_too_long`); undecodable input is `media_conversion_failed`.
 */
export async function toVoiceOgg(input: Buffer | string, options: VoiceOptions = {}): Promise<Buffer> {
  return (await transcodeVoice(input, options)).data;
}

/** `toVoiceOgg` with the duration it measured. */
export async function transcodeVoice(input: Buffer | string, options: VoiceOptions = {}): Promise<VoiceOgg> {
  const maxSeconds = options.maxSeconds ?? voiceDefaults.maxSeconds;
  // A Buffer goes through a temporary file, not stdin: MP4/M4A keep their index at the end and
  // ffmpeg cannot seek in a pipe.
  const dir = typeof input === "string" ? undefined : await mkdtemp(join(tmpdir(), "switchboard-voice-"));
  try {
    const path = dir === undefined ? (input as string) : join(dir, "input");
    if (dir !== undefined) await writeFile(path, input as Buffer);
    const args = [
      // `file:` keeps a path that starts with "-" or holds ":" from being read as something else.
      ...["-hide_banner", "-nostdin", "-loglevel", "error", "-i", `file:${path}`],
      ...["-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1"],
      ...["-ac", "1", "-ar", String(voiceDefaults.sampleRate)],
      ...["-c:a", "libopus", "-b:a", voiceDefaults.bitrate, "-application", "voip"],
      ...["-f", "ogg", "pipe:1"],
    ];
    const { stdout, stderr, code } = await run(options.ffmpegPath ?? voiceDefaults.ffmpegPath, args, {
      timeoutMs: options.timeoutMs ?? voiceDefaults.timeoutMs,
    });
    if (code !== 0 || stdout.length === 0)
      throw new AppError("media_conversion_failed", { reason: ffmpegReason(stderr, path, code) });
    const durationSeconds = oggOpusDuration(stdout);
    if (durationSeconds === undefined)
      throw new AppError("media_conversion_failed", { reason: reasons.noOggOpus });
    if (durationSeconds > maxSeconds)
      throw new AppError("media_voice_too_long", { duration: Math.ceil(durationSeconds), limit: maxSeconds });
    return { data: stdout, durationSeconds };
  } finally {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}

/** ffmpeg's version line, or `ffmpeg_missing`: for start-up checks and `switchboard doctor`. */
export async function ffmpegVersion(ffmpegPath: string = voiceDefaults.ffmpegPath): Promise<string> {
  const { stdout, code } = await run(ffmpegPath, ["-hide_banner", "-version"], { timeoutMs: 10_000 });
  const line = stdout.toString("utf8").split("\n")[0]?.trim() ?? "";
  if (code !== 0 || line === "") throw new AppError("ffmpeg_missing");
  return line;
}

/**
 * The duration of an Ogg/Opus stream in seconds: the last page's granule position (48 kHz
 * samples) less the pre-skip from the `OpusHead` header. Undefined when it is not Ogg/Opus.
 */
export function oggOpusDuration(ogg: Buffer): number | undefined {
  if (ogg.length < 27 || ogg.toString("latin1", 0, 4) !== "OggS") return undefined;
  const head = ogg.indexOf("OpusHead", 0, "latin1");
  if (head < 0 || head + 12 > ogg.length) return undefined;
  const preSkip = ogg.readUInt16LE(head + 10);
  // Walk back from the end to the last page that ends a packet (granule -1 means none does).
  let at = ogg.lastIndexOf("OggS", ogg.length - 4, "latin1");
  while (at >= 0) {
    if (at + 14 <= ogg.length) {
      const granule = ogg.readBigInt64LE(at + 6);
      if (granule >= 0n) return Math.max(0, Number(granule) - preSkip) / 48_000;
    }
    if (at === 0) break;
    at = ogg.lastIndexOf("OggS", at - 1, "latin1");
  }
  return undefined;
}

interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

function run(command: string, args: readonly string[], options: { timeoutMs: number }): Promise<RunResult> {
  const notRun = (error: NodeJS.ErrnoException) =>
    error.code === "ENOENT" || error.code === "EACCES"
      ? new AppError("ffmpeg_missing", {}, { cause: error })
      : new AppError(
          "media_conversion_failed",
          { reason: reasons.notStarted(error.message) },
          { cause: error },
        );
  return new Promise((resolve, reject) => {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      // Node throws some failures to start (ENOTDIR, say) instead of emitting them.
      return reject(notRun(error as NodeJS.ErrnoException));
    }
    const out: Buffer[] = [];
    let err = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      err = (err + chunk.toString("utf8")).slice(-4000);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(notRun(error));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut)
        reject(new AppError("media_conversion_failed", { reason: reasons.tooSlow(options.timeoutMs) }));
      else resolve({ stdout: Buffer.concat(out), stderr: err, code });
    });
  });
}

/**
 * Why ffmpeg failed: its last error line, without our temporary path; else how it ended. `code`
 * is null when a signal stopped it, and 0 when it succeeded without writing anything.
 */
function ffmpegReason(stderr: string, path: string, code: number | null): Translated {
  const lines = stderr
    .split("\n")
    .map((line) => line.split(`file:${path}`).join("input").split(path).join("input").trim())
    .filter((line) => line !== "");
  const last = lines.at(-1)?.slice(0, 200);
  if (last !== undefined) return reasons.reported(last);
  if (code === null) return reasons.stopped;
  return code === 0 ? reasons.noOggOpus : reasons.exited(code);
}

/** Why a conversion failed, in every language. */
const reasons = {
  reported: (line: string): Translated => ({ en: `ffmpeg reported: ${line}`, ru: `ffmpeg сообщил: ${line}` }),
  exited: (code: number): Translated => ({
    en: `ffmpeg exited with code ${code}`,
    ru: `ffmpeg завершился с кодом ${code}`,
  }),
  stopped: { en: "ffmpeg was stopped by a signal", ru: "ffmpeg остановлен сигналом" },
  noOggOpus: { en: "ffmpeg produced no Ogg/Opus stream", ru: "ffmpeg не выдал поток Ogg/Opus" },
  notStarted: (message: string): Translated => ({
    en: `ffmpeg could not be started: ${message}`,
    ru: `не удалось запустить ffmpeg: ${message}`,
  }),
  tooSlow: (timeoutMs: number): Translated => ({
    en: `ffmpeg took longer than ${timeoutMs / 1000} s`,
    ru: `ffmpeg работал дольше ${timeoutMs / 1000} с`,
  }),
} as const;
