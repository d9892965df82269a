import assert from "node:assert/strict";
import { rfc3339Nanos } from "./time.ts";

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
