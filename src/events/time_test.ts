import assert from "node:assert/strict";
import { bootNsToRfc3339, bootStampRfc3339, rfc3339Nanos } from "./time.ts";

/** The formula without the per-second cache. */
function reference(unixNs: bigint): string {
  const base = new Date(Number(unixNs / 1_000_000n)).toISOString().slice(0, 19);
  return `${base}.${(unixNs % 1_000_000_000n).toString().padStart(9, "0")}Z`;
}

Deno.test("rfc3339Nanos() gives the same text with its per-second cache, in and across seconds", () => {
  const base = 1_796_169_707_000_000_000n; // 2026-12-01T...
  const values = [
    base,
    base + 1n,
    base + 999_999_999n,
    base + 1_000_000_000n,
    base + 5n,
    base + 86_400_000_000_123n,
    0n,
    999n,
    -1n,
    -500_000_000n,
    500_000_000n,
  ];
  for (const v of values) assert.equal(rfc3339Nanos(v), reference(v), String(v));
  assert.equal(rfc3339Nanos(base + 123n), `${reference(base).slice(0, 19)}.000000123Z`);
});

Deno.test("bootStampRfc3339() gives bootNsToRfc3339()'s text for stamps in and across high words", () => {
  const stamps: bigint[] = [];
  for (
    const base of [
      0n,
      1_000_000_000n,
      4_294_967_295n,
      4_294_967_296n,
      9_007_199_254_740_993n,
      2n ** 63n,
    ]
  ) {
    for (const d of [0n, 1n, 999_999_999n, 1_000_000_000n, 4_294_967_295n, 12_345_678_901n]) {
      stamps.push(base + d);
    }
  }
  stamps.push(...[...stamps].reverse()); // high words that go back, and low words that decrease within one
  let x = 123_456_789n;
  for (let i = 0; i < 2000; i++) {
    x = (x * 6_364_136_223_846_793_005n + 1_442_695_040_888_963_407n) % 2n ** 64n;
    stamps.push(x % 2n ** 52n, x);
  }
  for (const s of stamps) {
    const got = bootStampRfc3339(Number(s & 0xffff_ffffn), Number(s >> 32n));
    assert.equal(got, bootNsToRfc3339(s), String(s));
  }
});
