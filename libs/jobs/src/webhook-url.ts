import { BlockList, isIP } from "node:net";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

// Loopback, private, link-local, shared, documentation, benchmarking, multicast and reserved space.
const refused = new BlockList();
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
  refused.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
] as const) {
  refused.addSubnet(network, prefix, "ipv6");
}

/**
 * True for an address a webhook may be sent to: not loopback, private, link-local or reserved,
 * also when an IPv6 address carries one of those IPv4 addresses (mapped, NAT64, 6to4).
 * Anything that is not an IP address is refused.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !refused.check(address, "ipv4");
  if (family !== 6) return false;
  if (refused.check(address, "ipv6")) return false; // IPv4-mapped addresses are checked by the IPv4 rules here
  const embedded = embeddedIpv4(address);
  return embedded === null || !refused.check(embedded, "ipv4");
}

/** The IPv4 address inside a NAT64 (64:ff9b::/96), 6to4 (2002::/16) or IPv4-compatible (::/96) address. */
function embeddedIpv4(address: string): string | null {
  const bytes = ipv6Bytes(address);
  if (!bytes) return null;
  const quad = (offset: number) => Array.from(bytes.subarray(offset, offset + 4)).join(".");
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((byte) => byte === 0);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return quad(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return quad(2);
  if (zeros(0, 12)) return quad(12);
  return null;
}

/** The 16 bytes of an IPv6 text address (with `::` and a trailing dotted quad); null when malformed. */
function ipv6Bytes(address: string): Uint8Array | null {
  let text = address.split("%")[0];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = dotted[1].split(".").map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((parts[0] << 8) | parts[1]).toString(16)}:${((parts[2] << 8) | parts[3]).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return null;
  const all = [...left, ...Array<string>(missing).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, index) => {
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** The host of a URL as an address or name: without IPv6 brackets and a trailing root dot. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").replace(/\.$/, "").toLowerCase();
}

/**
 * What can be known of a webhook URL before any DNS lookup: syntax, http(s) only, no credentials,
 * and (unless private targets are allowed) no loopback/private address or `localhost` name.
 * The worker checks the resolved addresses again before each delivery.
 */
export function checkWebhookUrl(text: string, options: { allowPrivate: boolean }): WebhookUrlCheck {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, reason: `is longer than ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: "is not a valid absolute URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "must use http or https" };
  if (url.username || url.password) return { ok: false, reason: "must not contain credentials" };
  if (url.hash) return { ok: false, reason: "must not contain a fragment" };
  if (options.allowPrivate) return { ok: true, url };
  const host = urlHost(url);
  if (host === "localhost" || host.endsWith(".localhost")) return { ok: false, reason: "must not point at localhost" };
  if (isIP(host) && !isPublicAddress(host)) return { ok: false, reason: "must not point at a loopback, private or reserved address" };
  return { ok: true, url };
}
