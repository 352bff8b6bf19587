import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../errors/app-error.ts";

const version = "v1";

/** Seals channel credentials with AES-256-GCM so a database dump does not leak tokens. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("SecretBox needs a 32-byte key");
    this.#key = key;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${version}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  open(sealed: string): string {
    const [tag, payload] = sealed.split(".", 2);
    if (tag !== version || !payload) throw new AppError("secret_key_mismatch");
    const raw = Buffer.from(payload, "base64url");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
    } catch (error) {
      throw new AppError("secret_key_mismatch", {}, { cause: error });
    }
  }
}

/**
 * The key in an embedded data directory's key file, or undefined when there is no such file. A
 * file the hub cannot read, or that holds no 32-byte key, is refused: replacing it with a new key
 * would leave every stored secret unreadable.
 */
export function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new AppError(
      "secret_key_file_unreadable",
      { path, reason: (error as Error).message },
      { cause: error },
    );
  }
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== 32)
    throw new AppError("secret_key_file_unreadable", {
      path,
      reason: `it holds no key (32 bytes in base64; this decodes to ${key.length})`,
    });
  return key;
}

/** Where an embedded data directory keeps the key the hub generated for it. */
export function keyFilePath(embeddedDataDir: string): string {
  return join(embeddedDataDir, "secret.key");
}

/**
 * The configured key, or in embedded mode one generated once into the data directory. Server
 * mode has no such fallback: processes on different machines must share one key.
 */
export function resolveSecretKey(
  configured: string | undefined,
  embeddedDataDir: string | undefined,
): Buffer {
  if (configured) return Buffer.from(configured, "base64");
  if (!embeddedDataDir) throw new AppError("secret_key_missing");
  const path = keyFilePath(embeddedDataDir);
  const existing = readKeyFile(path);
  if (existing) return existing;
  try {
    mkdirSync(embeddedDataDir, { recursive: true });
    const key = randomBytes(32);
    writeFileSync(path, `${key.toString("base64")}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return key;
  } catch (error) {
    throw new AppError(
      "data_dir_unwritable",
      { path: embeddedDataDir, reason: (error as Error).message },
      { cause: error },
    );
  }
}
