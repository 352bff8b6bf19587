/**
 * Requests the hub makes to addresses its users give it (webhook endpoints, status callbacks,
 * attachments by URL). A user could name an address inside the hub's own network (the database,
 * a cloud metadata service at 169.254.169.254) and read or poke it through the hub: server-side
 * request forgery. So every connection is checked after DNS resolution, on the address actually
 * dialled (a name that resolves to a public address for the check and a private one for the
 * connection gains nothing), and redirects are never followed blindly.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { parseHostOrRange } from "../config/addresses.ts";
import type { Translated } from "../errors/app-error.ts";

/**
 * What may be reached besides the public internet: host names, IP addresses and CIDR ranges, as
 * the `egressAllow` setting takes them (src/config/addresses.ts reads both).
 */
export interface EgressPolicy {
  allow: readonly string[];
}

export const publicOnly: EgressPolicy = { allow: [] };

/** Every range that is not the public internet (RFC 6890 and friends). */
const nonPublic = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  nonPublic.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["::ffff:0:0", 96],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  nonPublic.addSubnet(network, prefix, "ipv6");
}

/** Why the policy refuses a request: one of a few kinds, each told in every language by `reasonOf`. */
type Refusal =
  | { kind: "scheme" }
  | { kind: "unresolved"; host: string }
  /** The URL's host is itself a non-public IP address. */
  | { kind: "address"; address: string }
  /** The URL's host name resolves to a non-public address. */
  | { kind: "resolved"; host: string; address: string };

function reasonOf(refusal: Refusal): Translated {
  switch (refusal.kind) {
    case "scheme":
      return {
        en: "only http and https addresses are accepted",
        ru: "принимаются только адреса http и https",
      };
    case "unresolved":
      return {
        en: `${refusal.host} does not resolve to any address`,
        ru: `имя ${refusal.host} не разрешается ни в один адрес`,
      };
    case "address":
      return {
        en: `${refusal.address} is not a public address`,
        ru: `${refusal.address} — не публичный адрес`,
      };
    case "resolved":
      return {
        en: `${refusal.host} resolves to ${refusal.address}, which is not a public address`,
        ru: `${refusal.host} разрешается в ${refusal.address}, а это не публичный адрес`,
      };
  }
}

/** Thrown when the policy refuses an address; the message names the address and why, in English. */
export class EgressRefused extends Error {
  override name = "EgressRefused";
  /** The reason in every language, for an answer in the caller's. */
  readonly reason: Translated;

  constructor(refusal: Refusal) {
    const reason = reasonOf(refusal);
    super(reason.en);
    this.reason = reason;
  }
}

export class Egress {
  readonly #allowedHosts = new Set<string>();
  readonly #allowedRanges = new BlockList();

  constructor(policy: EgressPolicy) {
    for (const entry of policy.allow) {
      const allowed = parseHostOrRange(entry);
      // The settings refuse such an entry before any guard is made.
      if (!allowed) throw new TypeError(`Not a host name, IP address or CIDR range: "${entry}"`);
      if (allowed.kind === "name") this.#allowedHosts.add(allowed.name.toLowerCase());
      else if (allowed.kind === "address") this.#allowedRanges.addAddress(allowed.address, allowed.family);
      else this.#allowedRanges.addSubnet(allowed.network, allowed.prefix, allowed.family);
    }
  }

  /** Why `address` may not be dialled for `host` (a name, or that address itself), or undefined when it may. */
  #refusal(host: string, address: string): Refusal | undefined {
    if (this.#allowedHosts.has(host.toLowerCase()) || this.#mayDial(address)) return undefined;
    return isIP(host) ? { kind: "address", address: host } : { kind: "resolved", host, address };
  }

  /** Public, or in an allowed range; an IPv4-mapped IPv6 address counts as its IPv4 address. */
  #mayDial(address: string): boolean {
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (this.#allowedRanges.check(address, family)) return true;
    const mapped = family === "ipv6" ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
    if (mapped) return this.#mayDial(mapped);
    return !nonPublic.check(address, family);
  }

  /**
   * Why requests to `url` would be refused now, in every language, or undefined: to turn a bad
   * address away when it is given, not only when it is first used. Every request checks again
   * (DNS may change).
   */
  async refusalOf(url: URL): Promise<Translated | undefined> {
    const refusal = await this.#refusalOfUrl(url);
    return refusal && reasonOf(refusal);
  }

  async #refusalOfUrl(url: URL): Promise<Refusal | undefined> {
    if (url.protocol !== "http:" && url.protocol !== "https:") return { kind: "scheme" };
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host)) return this.#refusal(host, host);
    const addresses = await new Promise<LookupAddress[]>((resolve) =>
      dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found)),
    );
    if (addresses.length === 0) return { kind: "unresolved", host };
    for (const { address } of addresses) {
      const refused = this.#refusal(host, address);
      if (refused) return refused;
    }
    return undefined;
  }

  /** A DNS lookup that fails for addresses the policy refuses, for `http.request({ lookup })`. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 4);
      for (const { address } of addresses) {
        const refused = this.#refusal(hostname, address);
        if (refused) return callback(new EgressRefused(refused), "", 4);
      }
      if (options.all) return callback(null, addresses as unknown as string);
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };

  /**
   * One HTTP request, never following redirects (a 3xx is returned as it is). Refuses what the
   * policy refuses before any byte is sent. The body read is capped at `maxBodyBytes`.
   */
  request(url: string | URL, options: EgressRequest): Promise<EgressResponse> {
    const target = typeof url === "string" ? new URL(url) : url;
    if (target.protocol !== "http:" && target.protocol !== "https:")
      return Promise.reject(new EgressRefused({ kind: "scheme" }));
    const host = target.hostname.replace(/^\[|\]$/g, "");
    // Node dials an IP literal without a lookup, so literals are checked here.
    if (isIP(host)) {
      const refused = this.#refusal(host, host);
      if (refused) return Promise.reject(new EgressRefused(refused));
    }
    const client = target.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request(
        target,
        {
          method: options.method ?? "GET",
          headers: options.headers,
          lookup: this.lookup,
          agent: false,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          let truncated = false;
          response.on("data", (chunk: Buffer) => {
            if (truncated) return;
            size += chunk.length;
            if (size > options.maxBodyBytes) {
              truncated = true;
              chunks.push(chunk.subarray(0, options.maxBodyBytes - (size - chunk.length)));
              if (options.failOverLimit) {
                response.destroy();
                resolveWith();
              }
              return;
            }
            chunks.push(chunk);
          });
          const resolveWith = () => {
            clearTimeout(deadline);
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
              truncated,
            });
          };
          response.on("end", resolveWith);
          response.on("error", fail);
        },
      );
      // The whole exchange, not only each silence, must fit in the time allowed.
      const deadline = setTimeout(
        () => request.destroy(new EgressTimeout(options.timeoutMs)),
        options.timeoutMs,
      );
      const fail = (error: Error) => {
        clearTimeout(deadline);
        reject(error);
      };
      request.on("error", fail);
      request.end(options.body);
    });
  }
}

/** No whole answer within the time allowed; the message says so in English, `reason` in every language. */
export class EgressTimeout extends Error {
  override name = "EgressTimeout";
  readonly reason: Translated;

  constructor(timeoutMs: number) {
    const reason = noAnswerWithin(timeoutMs);
    super(reason.en);
    this.reason = reason;
  }
}

/** "no answer within 15 s", in every language. */
export function noAnswerWithin(timeoutMs: number): Translated {
  const seconds = timeoutMs / 1000;
  return { en: `no answer within ${seconds} s`, ru: `нет ответа за ${seconds} с` };
}

export interface EgressRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  /** Bytes of the answer kept; the rest is read and dropped, or, with `failOverLimit`, cut off. */
  maxBodyBytes: number;
  failOverLimit?: boolean;
  signal?: AbortSignal;
}

export interface EgressResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The answer was longer than `maxBodyBytes`. */
  truncated: boolean;
}

/** A user's URL without the user name and password in it: `https://user:pass@host/` → `https://host/`. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z\d+.-]*:\/\/)[^/\\?#]*@/i, "$1");
}

/**
 * A user's URL as errors show it: no user name or password, no query or fragment (signed links
 * carry secrets there), at most 200 characters.
 */
export function shownUrl(url: string): string {
  return withoutCredentials(url)
    .replace(/[?#].*$/s, "")
    .slice(0, 200);
}

/**
 * Why a request failed, in a line a person can act on (no stack, no upstream blob), in every
 * language: for an answer in the caller's (an attachment that could not be fetched).
 */
export function networkFailure(error: unknown): Translated {
  if (error instanceof EgressRefused || error instanceof EgressTimeout) return error.reason;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string")
    return { en: `the connection failed (${code})`, ru: `соединение не удалось (${code})` };
  // Node's own words, which have no translation.
  const message = error instanceof Error ? error.message.slice(0, 200) : "";
  return message
    ? { en: message, ru: `соединение не удалось: ${message}` }
    : { en: "the connection failed", ru: "соединение не удалось" };
}

/** `networkFailure` in English, as the attempt log keeps it. */
export function describeNetworkError(error: unknown): string {
  return networkFailure(error).en;
}
