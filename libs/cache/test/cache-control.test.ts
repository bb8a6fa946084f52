import { describe, expect, it } from "vitest";
import { parseCacheControl } from "@llmgw/cache";

describe("parseCacheControl", () => {
  it.each([
    [undefined, { noCache: false, noStore: false }],
    ["", { noCache: false, noStore: false }],
    ["no-cache", { noCache: true, noStore: false }],
    ["no-store", { noCache: false, noStore: true }],
    ["No-Cache, NO-STORE", { noCache: true, noStore: true }],
    ["max-age=0,no-store", { noCache: false, noStore: true }],
    ['no-cache="set-cookie"', { noCache: true, noStore: false }],
    ["no-cacheX, xno-store", { noCache: false, noStore: false }],
    [["max-age=0", "no-cache"], { noCache: true, noStore: false }],
  ])("reads %j", (header, expected) => {
    expect(parseCacheControl(header)).toEqual(expected);
  });
});
