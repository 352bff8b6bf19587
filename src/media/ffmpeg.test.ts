import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { AppError, type Translated } from "../errors/app-error.ts";
import { generateAudio } from "../testing/media.ts";
import { ffmpegVersion, oggOpusDuration, toVoiceOgg, transcodeVoice } from "./ffmpeg.ts";

const run = promisify(execFile);
let dir = "";

/** Makes a test file with ffmpeg itself from a lavfi source. */
function make(name: string, source: string, seconds: number, codecArgs: string[] = []): Promise<string> {
  return generateAudio(join(dir, name), { source, seconds, codecArgs });
}

interface Probe {
  format: { format_name: string; duration: string; bit_rate: string };
  streams: { codec_name: string; channels: number; sample_rate: string; codec_type: string }[];
}

async function probe(data: Buffer): Promise<Probe> {
  const path = join(dir, `probe-${Math.random().toString(36).slice(2)}.ogg`);
  await writeFile(path, data);
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    path,
  ]);
  return JSON.parse(stdout) as Probe;
}

function assertVoice(info: Probe, seconds: number) {
  assert.equal(info.format.format_name, "ogg");
  assert.equal(info.streams.length, 1);
  const [audio] = info.streams;
  assert.equal(audio?.codec_name, "opus");
  assert.equal(audio?.channels, 1);
  // ffprobe reports Opus at its 48 kHz decoding rate; the 16 kHz input rate is in OpusHead,
  // checked below. The bit rate includes the Ogg container's overhead.
  assert.equal(audio?.sample_rate, "48000");
  assert.ok(Number(info.format.bit_rate) < 24_000, `bit rate ${info.format.bit_rate}`);
  assert.ok(Math.abs(Number(info.format.duration) - seconds) < 0.1, `duration ${info.format.duration}`);
}

/** A stand-in for the ffmpeg binary: a shell script that does `body` whatever it is asked. */
async function fakeFfmpeg(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

/** Fails with `media_conversion_failed`, its reason as given in English and in Russian. */
async function conversionFails(promise: Promise<unknown>, en: RegExp, ru: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, "media_conversion_failed");
    const reason = error.params.reason as Translated;
    assert.match(reason.en, en);
    assert.match(reason.ru, ru);
    // Each answer reads in one language, the reason included.
    assert.equal(
      error.render("en").message,
      `The audio could not be converted to a voice message: ${reason.en}`,
    );
    assert.equal(
      error.render("ru").message,
      `Не удалось преобразовать аудио в голосовое сообщение: ${reason.ru}`,
    );
    return true;
  });
}

describe("toVoiceOgg (needs ffmpeg: apt-get install -y ffmpeg)", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "switchboard-ffmpeg-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("finds ffmpeg", async () => {
    assert.match(await ffmpegVersion(), /^ffmpeg version /);
  });

  it("turns a stereo 44.1 kHz MP3 into Ogg/Opus, mono, 16 kHz, ~16 kbps", async () => {
    const mp3 = await make("tone.mp3", "sine=frequency=440:sample_rate=44100", 3, [
      "-ac",
      "2",
      "-c:a",
      "libmp3lame",
      "-b:a",
      "128k",
    ]);
    const ogg = await toVoiceOgg(await readFile(mp3));
    const info = await probe(ogg);
    assertVoice(info, 3);
    // OpusHead keeps the sample rate the encoder was fed (bytes 12–15) and the channel count (9).
    const head = ogg.indexOf("OpusHead");
    assert.equal(ogg.readUInt32LE(head + 12), 16_000);
    assert.equal(ogg[head + 9], 1, "one channel in OpusHead");
    // ~16 kbps: 3 s of speech-band Opus is a few kilobytes, nowhere near the MP3's 48 KB.
    assert.ok(ogg.length < 12_000, `${ogg.length} bytes`);
    assert.ok(Math.abs((oggOpusDuration(ogg) ?? 0) - 3) < 0.05);
  });

  it("reads WAV from a path and M4A (index at the end) from a Buffer", async () => {
    const wav = await make("tone.wav", "sine=frequency=300:sample_rate=8000", 2, ["-c:a", "pcm_s16le"]);
    assertVoice(await probe(await toVoiceOgg(wav)), 2);
    const m4a = await make("tone.m4a", "sine=frequency=500:sample_rate=48000", 2, ["-c:a", "aac"]);
    const result = await transcodeVoice(await readFile(m4a));
    assertVoice(await probe(result.data), 2);
    assert.ok(Math.abs(result.durationSeconds - 2) < 0.1);
  });

  it("refuses audio longer than five minutes", async () => {
    const long = await make("long.wav", "anullsrc=r=8000:cl=mono", 301, ["-c:a", "pcm_s16le"]);
    await assert.rejects(toVoiceOgg(long), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "media_voice_too_long");
      assert.equal(error.params.limit, 300);
      assert.equal(error.params.duration, 301);
      return true;
    });
    const short = await make("short.wav", "anullsrc=r=8000:cl=mono", 3, ["-c:a", "pcm_s16le"]);
    await assert.rejects(
      toVoiceOgg(short, { maxSeconds: 2 }),
      (e: unknown) => e instanceof AppError && e.code === "media_voice_too_long",
    );
  });

  it("calls undecodable input a conversion failure, quoting ffmpeg without the temporary path", async () => {
    await conversionFails(
      toVoiceOgg(Buffer.from("this is not audio at all")),
      /^ffmpeg reported: input: Invalid data found when processing input$/,
      /^ffmpeg сообщил: input: Invalid data found when processing input$/,
    );
  });

  it("says how ffmpeg ended when it says nothing itself, in either language", async () => {
    const input = Buffer.from("x");
    await conversionFails(
      toVoiceOgg(input, { ffmpegPath: await fakeFfmpeg("exits-3", "exit 3") }),
      /^ffmpeg exited with code 3$/,
      /^ffmpeg завершился с кодом 3$/,
    );
    await conversionFails(
      toVoiceOgg(input, { ffmpegPath: await fakeFfmpeg("silent", "exit 0") }),
      /^ffmpeg produced no Ogg\/Opus stream$/,
      /^ffmpeg не выдал поток Ogg\/Opus$/,
    );
    await conversionFails(
      toVoiceOgg(input, { ffmpegPath: await fakeFfmpeg("not-ogg", "echo 'not an ogg stream'") }),
      /^ffmpeg produced no Ogg\/Opus stream$/,
      /^ffmpeg не выдал поток Ogg\/Opus$/,
    );
    await conversionFails(
      toVoiceOgg(input, { ffmpegPath: await fakeFfmpeg("killed", "kill -KILL $$") }),
      /^ffmpeg was stopped by a signal$/,
      /^ffmpeg остановлен сигналом$/,
    );
    await conversionFails(
      toVoiceOgg(input, { ffmpegPath: await fakeFfmpeg("slow", "exec sleep 10"), timeoutMs: 200 }),
      /^ffmpeg took longer than 0.2 s$/,
      /^ffmpeg работал дольше 0.2 с$/,
    );
  });

  it("says ffmpeg is missing when the binary is not there", async () => {
    await assert.rejects(
      toVoiceOgg(Buffer.from("x"), { ffmpegPath: "/nonexistent/ffmpeg" }),
      (error: unknown) =>
        error instanceof AppError && error.code === "ffmpeg_missing" && error.status === 500,
    );
    await assert.rejects(
      ffmpegVersion("/nonexistent/ffmpeg"),
      (e: unknown) => e instanceof AppError && e.code === "ffmpeg_missing",
    );
  });

  it("catalogues a path that cannot be run at all (through a file: Node throws ENOTDIR at once)", async () => {
    const file = join(dir, "not-a-directory");
    await writeFile(file, "");
    await assert.rejects(
      toVoiceOgg(Buffer.from("x"), { ffmpegPath: join(file, "ffmpeg") }),
      (error: unknown) => {
        assert.ok(error instanceof AppError && error.code === "media_conversion_failed", String(error));
        assert.match(error.message, /ENOTDIR/);
        return true;
      },
    );
  });
});

describe("oggOpusDuration", () => {
  it("is undefined for anything but Ogg/Opus", () => {
    assert.equal(oggOpusDuration(Buffer.alloc(0)), undefined);
    assert.equal(oggOpusDuration(Buffer.from("ID3 not an ogg file at all, really not")), undefined);
    assert.equal(oggOpusDuration(Buffer.concat([Buffer.from("OggS"), Buffer.alloc(40)])), undefined);
  });
});
