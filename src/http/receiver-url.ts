import { z } from "@hono/zod-openapi";

/**
 * An address the hub POSTs to on a caller's behalf: a webhook endpoint's `url`, a message's
 * `status_url`. Each refusal says what is wrong, where zod's URL check says "Invalid URL" to all.
 * A user name or password in it is refused: the URL is shown (with the endpoint or the message,
 * in every attempt of the log) and credentials must not be; `credentials` says where they go
 * instead for this kind of receiver. Private addresses are the SSRF guard's to refuse
 * (src/net/egress.ts), since DNS decides them.
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
