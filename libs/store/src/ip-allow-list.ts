import { BlockList, isIP } from "node:net";

/** At most this many entries per key: each request checks them all. */
export const MAX_ALLOWED_IPS = 100;

/**
 * A key's `allowed_ips`: CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses, IPv4 and
 * IPv6, matched with Node's own BlockList. An IPv4 address that reaches the server as IPv4-mapped
 * IPv6 (`::ffff:10.1.2.3`, a dual-stack socket) is matched as the IPv4 address it is.
 */
export interface IpAllowList {
  allows(address: string): boolean;
}

/** Parses one entry; throws with a reason naming it when it is not an address or CIDR. */
function addEntry(list: BlockList, entry: string): void {
  const [address, prefix, extra] = entry.trim().split("/");
  const family = isIP(address);
  const bits = prefix === undefined ? (family === 6 ? 128 : 32) : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (family === 0 || extra !== undefined || !(bits >= 0 && bits <= (family === 6 ? 128 : 32))) {
    throw new Error(`'${entry}' is not an IPv4 or IPv6 address or CIDR (such as 203.0.113.0/24 or 2001:db8::/32)`);
  }
  list.addSubnet(address, bits, family === 6 ? "ipv6" : "ipv4");
}

/** Checks every entry of a list before it is stored: the reason names the first bad one. */
export function checkAllowedIps(entries: readonly string[]): void {
  if (entries.length > MAX_ALLOWED_IPS) throw new Error(`at most ${MAX_ALLOWED_IPS} entries`);
  const list = new BlockList();
  for (const entry of entries) addEntry(list, entry);
}

export function createIpAllowList(entries: readonly string[]): IpAllowList {
  const list = new BlockList();
  for (const entry of entries) addEntry(list, entry);
  return {
    allows(address) {
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
      const plain = mapped ? mapped[1] : address;
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 6 ? "ipv6" : "ipv4");
    },
  };
}
