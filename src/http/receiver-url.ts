import { z } from "@hono/zod-openapi";
import { AppError, type Translated } from "../errors/app-error.ts";
import { type Egress, shownUrl } from "../net/egress.ts";

/**
 * An address the hub POSTs to on a caller's behalf: a webhook endpoint's `url`, a message's
 * `status_url`. Each refusal says what is wrong, where zod's URL check says "Invalid URL" to all.
 * A user name or password in it is refused: the URL is shown (with the endpoint or the message,
 * in every attempt of the log) and credentials must not be; `credentials` says where they go
 * instead for this kind of receiver. Private addresses are the SSRF guard's to refuse
 * (src/net/egress.ts), since DNS decides them: `receiverRefusal` below, once the URL is read.
 */
export function receiverUrl(credentials: string) {
  return z
    .string()
    .trim()
    .max(2000)
    .superRefine((value, ctx) => {
      if (!URL.canParse(value)) {
        ctx.addIssue({ code: "custom", message: "Not a URL: give an absolute http or https address" });
        return;
      }
      const { protocol, username, password } = new URL(value);
      if (protocol !== "http:" && protocol !== "https:")
        ctx.addIssue({ code: "custom", message: `Only http and https URLs are accepted, not ${protocol}` });
      if (username || password)
        ctx.addIssue({
          code: "custom",
          message: `A user name or password in the URL is not accepted: ${credentials}`,
        });
    })
    .openapi({ format: "uri" });
}

/** Why the SSRF guard would refuse a receiver's address: `webhook_url_refused`, its field at `path`. */
export type ReceiverRefusal = (url: string, path: string) => Promise<AppError | undefined>;

/**
 * Turns away a receiver's address when it is given (a webhook endpoint's `url`, a message's
 * `status_url`), when the SSRF guard would refuse to call it now: `webhook_url_refused` naming the
 * address and why, with the field in `details`. Every request is checked again when it is made,
 * since DNS may change. Make one per request: it looks each host up once (a batch of messages
 * usually names one receiver), and a later request must see DNS as it is then.
 */
export function receiverRefusal(egress: Egress): ReceiverRefusal {
  const reasons = new Map<string, Promise<Translated | undefined>>();
  return async (url, path) => {
    const parsed = new URL(url);
    // The guard's verdict depends on the scheme and the host alone.
    const host = `${parsed.protocol}//${parsed.hostname}`;
    let reason = reasons.get(host);
    if (!reason) {
      reason = egress.refusalOf(parsed);
      reasons.set(host, reason);
    }
    const refused = await reason;
    return (
      refused &&
      new AppError(
        "webhook_url_refused",
        { url: shownUrl(url), reason: refused },
        { details: [{ path, code: "url_refused", detail: refused.en }] },
      )
    );
  };
}
