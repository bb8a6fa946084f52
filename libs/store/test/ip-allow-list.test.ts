import { describe, expect, it } from "vitest";
import { checkAllowedIps, createIpAllowList, MAX_ALLOWED_IPS } from "@llmgw/store";

describe("IP allow-lists", () => {
  it("matches IPv4 CIDRs and single addresses, including IPv4-mapped IPv6 from dual-stack sockets", () => {
    const list = createIpAllowList(["203.0.113.0/24", "198.51.100.7"]);
    expect(list.allows("203.0.113.200")).toBe(true);
    expect(list.allows("::ffff:203.0.113.9")).toBe(true);
    expect(list.allows("198.51.100.7")).toBe(true);
    expect(list.allows("198.51.100.8")).toBe(false);
    expect(list.allows("203.0.114.1")).toBe(false);
  });

  it("matches IPv6 CIDRs and keeps the families apart", () => {
    const list = createIpAllowList(["2001:db8::/32", "::1"]);
    expect(list.allows("2001:db8:ffff::1")).toBe(true);
    expect(list.allows("::1")).toBe(true);
    expect(list.allows("2001:db9::1")).toBe(false);
    expect(list.allows("127.0.0.1")).toBe(false);
    expect(createIpAllowList(["0.0.0.0/0"]).allows("2001:db8::1")).toBe(false);
  });

  it("allows nothing that is not an address", () => {
    expect(createIpAllowList(["0.0.0.0/0"]).allows("localhost")).toBe(false);
    expect(createIpAllowList(["0.0.0.0/0"]).allows("")).toBe(false);
  });

  it("refuses bad entries with a reason naming the entry", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0/8", "2001:db8::/129", "example.com", "10.0.0.0/8/1", "10.0.0.0/x", ""]) {
      expect(() => checkAllowedIps([bad]), bad).toThrow(`'${bad}' is not an IPv4 or IPv6 address or CIDR`);
    }
    expect(() => checkAllowedIps(Array(MAX_ALLOWED_IPS + 1).fill("10.0.0.1"))).toThrow(`at most ${MAX_ALLOWED_IPS} entries`);
    expect(() => checkAllowedIps(["10.0.0.0/8", "::/0"])).not.toThrow();
  });
});
