import { isIP } from "node:net";

/**
 * A host name as DNS and /etc/hosts know them: dot-separated labels of letters, digits, hyphens
 * (and underscores, which container and service names use), none longer than 63 characters or
 * starting or ending with a hyphen. The last label is never all digits, so a malformed IPv4
 * address such as 999.999.1.1 is not taken for a name.
 */
export function isHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split(".");
  const last = labels[labels.length - 1] ?? "";
  return (
    labels.every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/i.test(label)) && !/^\d+$/.test(last)
  );
}

/** An IPv4 or IPv6 address, or a host name. */
export function isHost(value: string): boolean {
  return isIP(value) !== 0 || isHostName(value);
}

/** What an `egressAllow` entry names: a host by its name, one IP address, or a CIDR range. */
export type HostOrRange =
  | { kind: "name"; name: string }
  | { kind: "address"; address: string; family: IpFamily }
  | { kind: "range"; network: string; prefix: number; family: IpFamily };

export type IpFamily = "ipv4" | "ipv6";

/**
 * Reads a host name, an IP address, or a CIDR range whose prefix fits its address family;
 * undefined for anything else. The settings accept what it reads, and the SSRF guard allows what
 * it read, so the two cannot disagree.
 */
export function parseHostOrRange(value: string): HostOrRange | undefined {
  const parts = value.split("/");
  const [address = "", prefix] = parts;
  if (parts.length > 2) return undefined;
  const version = isIP(address);
  const family = version === 4 ? "ipv4" : "ipv6";
  if (prefix === undefined) {
    if (version !== 0) return { kind: "address", address, family };
    return isHostName(address) ? { kind: "name", name: address } : undefined;
  }
  if (version === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > (version === 4 ? 32 : 128))
    return undefined;
  return { kind: "range", network: address, prefix: Number(prefix), family };
}

export function isHostOrRange(value: string): boolean {
  return parseHostOrRange(value) !== undefined;
}
