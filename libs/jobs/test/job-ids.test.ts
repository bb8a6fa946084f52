import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareEventIds } from "@llmgw/jobs";

/** The plain reading of a stream id: two numbers, compared in order. */
function reference(a: string, b: string): number {
  const [aMs, aSeq] = a.split("-").map(BigInt);
  const [bMs, bSeq] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

describe("compareEventIds", () => {
  it("orders stream ids as numbers, leading zeros included (property test)", () => {
    const part = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), fc.stringMatching(/^0{0,3}\d{1,20}$/));
    const id = fc.tuple(part, part).map(([ms, seq]) => `${ms}-${seq}`);
    fc.assert(
      fc.property(id, id, (a, b) => {
        expect(compareEventIds(a, b)).toBe(reference(a, b));
      }),
      { numRuns: 5000 },
    );
    expect(compareEventIds("1764201600000-9", "1764201600000-10")).toBe(-1);
    expect(compareEventIds("0001-0", "1-0")).toBe(0);
  });
});
