/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a secret `whsec_<base64>`,
 * and `v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`. While a rotated
 * secret overlaps, the header carries one signature per secret, space-separated, and a receiver
 * that knows either accepts the request.
 */
import { createHmac, randomBytes } from "node:crypto";

const prefix = "whsec_";

/** A new secret: 32 random bytes (the spec asks for 24 to 64). */
export function newSigningSecret(): string {
  return `${prefix}${randomBytes(32).toString("base64")}`;
}

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(prefix) ? secret.slice(prefix.length) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** The `webhook-signature` header: one signature per secret still valid. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string) {
  return secrets.map((secret) => sign(secret, id, timestamp, body)).join(" ");
}
