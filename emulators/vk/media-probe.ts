/**
 * A small look at uploaded bytes, with no ffprobe: the container, image dimensions, and for audio
 * the codec, channels, sample rate and duration. The upload server uses it to accept or refuse a
 * file as VK would (§3.5); the control API shows it, so a test can check what the hub sent.
 */

export interface Probe {
  container: "jpeg" | "png" | "gif" | "webp" | "ogg" | "mp3" | "wav" | "exe" | "unknown";
  width?: number;
  height?: number;
  codec?: string;
  channels?: number;
  sampleRate?: number;
  durationSec?: number;
}

const ascii = (bytes: Buffer, at: number, length: number) => bytes.toString("latin1", at, at + length);

export function probe(bytes: Buffer): Probe {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47) {
    return { container: "png", width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  }
  if (bytes.length >= 10 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6))) {
    return { container: "gif", width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8)
    return { container: "jpeg", ...jpegSize(bytes) };
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP")
    return { container: "webp" };
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WAVE") return wav(bytes);
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === "OggS") return ogg(bytes);
  const mp3 = mpegAudio(bytes);
  if (mp3) return mp3;
  if (bytes.length >= 2 && ascii(bytes, 0, 2) === "MZ") return { container: "exe" };
  return { container: "unknown" };
}

function jpegSize(bytes: Buffer): { width?: number; height?: number } {
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return {};
    const marker = bytes[at + 1] ?? 0;
    const length = bytes.readUInt16BE(at + 2);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    at += 2 + length;
  }
  return {};
}

function wav(bytes: Buffer): Probe {
  const fmt = bytes.indexOf("fmt ", 12, "latin1");
  if (fmt < 0 || fmt + 16 > bytes.length) return { container: "wav" };
  const channels = bytes.readUInt16LE(fmt + 10);
  const sampleRate = bytes.readUInt32LE(fmt + 12);
  const byteRate = bytes.readUInt32LE(fmt + 16);
  const data = bytes.indexOf("data", fmt, "latin1");
  const dataBytes = data >= 0 && data + 8 <= bytes.length ? bytes.readUInt32LE(data + 4) : 0;
  return {
    container: "wav",
    codec: "pcm",
    channels,
    sampleRate,
    ...(byteRate > 0 ? { durationSec: round(dataBytes / byteRate) } : {}),
  };
}

function ogg(bytes: Buffer): Probe {
  const result: Probe = { container: "ogg" };
  let preSkip = 0;
  const opus = bytes.indexOf("OpusHead", 0, "latin1");
  const vorbis = bytes.indexOf("\x01vorbis", 0, "latin1");
  if (opus >= 0 && opus + 16 <= bytes.length) {
    result.codec = "opus";
    result.channels = bytes[opus + 9] ?? 0;
    preSkip = bytes.readUInt16LE(opus + 10);
    // Opus always decodes at 48 kHz; the header keeps the input rate, which is what was encoded.
    result.sampleRate = bytes.readUInt32LE(opus + 12);
  } else if (vorbis >= 0 && vorbis + 16 <= bytes.length) {
    result.codec = "vorbis";
    result.channels = bytes[vorbis + 11] ?? 0;
    result.sampleRate = bytes.readUInt32LE(vorbis + 12);
  }
  const last = bytes.lastIndexOf("OggS", bytes.length - 1, "latin1");
  if (last >= 0 && last + 14 <= bytes.length && result.codec) {
    const granule = Number(bytes.readBigInt64LE(last + 6));
    const rate = result.codec === "opus" ? 48000 : (result.sampleRate ?? 0);
    if (rate > 0 && granule >= 0) result.durationSec = round(Math.max(0, granule - preSkip) / rate);
  }
  return result;
}

const mpegRates: Record<number, number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};
const layer3Kbps: Record<string, number[]> = {
  v1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  v2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

function mpegAudio(bytes: Buffer): Probe | undefined {
  let at = 0;
  if (bytes.length >= 10 && ascii(bytes, 0, 3) === "ID3") {
    const size = ((bytes[6] ?? 0) << 21) | ((bytes[7] ?? 0) << 14) | ((bytes[8] ?? 0) << 7) | (bytes[9] ?? 0);
    at = 10 + size;
  }
  const limit = Math.min(bytes.length - 4, at + 4096);
  for (; at <= limit; at++) {
    const b1 = bytes[at + 1] ?? 0;
    if (bytes[at] !== 0xff || (b1 & 0xe0) !== 0xe0) continue;
    const versionBits = (b1 >> 3) & 3;
    const layerBits = (b1 >> 1) & 3;
    const b2 = bytes[at + 2] ?? 0;
    const rate = mpegRates[versionBits]?.[(b2 >> 2) & 3];
    if (versionBits === 1 || layerBits !== 1 || !rate) continue;
    const kbps = layer3Kbps[versionBits === 3 ? "v1" : "v2"]?.[b2 >> 4] ?? 0;
    const channels = (bytes[at + 3] ?? 0) >> 6 === 3 ? 1 : 2;
    return {
      container: "mp3",
      codec: "mp3",
      channels,
      sampleRate: rate,
      ...(kbps > 0 ? { durationSec: round(((bytes.length - at) * 8) / (kbps * 1000)) } : {}),
    };
  }
  return undefined;
}

const round = (seconds: number) => Math.round(seconds * 100) / 100;
