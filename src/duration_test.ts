import assert from "node:assert/strict";
import { parseDuration } from "./duration.ts";

Deno.test("parseDuration() reads each unit and their combinations", () => {
  const cases: [string, number][] = [
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h2m3s4ms", 3_723_004],
    ["2s500ms", 2_500],
    ["1m1ms", 60_001],
    ["0s", 0],
    ["90m", 5_400_000],
    [" 2s\n", 2_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, JSON.stringify(text));
});

Deno.test("parseDuration() rejects what is not a duration", () => {
  for (
    const text of [
      "",
      " ",
      "soon",
      "5",
      "-1s",
      "1.5s",
      "s",
      "ms",
      "1s1m",
      "5 m",
      "1d",
      "1S",
      "1sec",
      "2s ms",
      "1hh",
    ]
  ) {
    assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
});

Deno.test("parseDuration() tells 'm' (minutes) from 'ms'", () => {
  assert.equal(parseDuration("3m"), 180_000);
  assert.equal(parseDuration("3ms"), 3);
});

Deno.test("parseDuration() rejects a duration beyond safe integers", () => {
  assert.equal(parseDuration("99999999999999999h"), undefined);
});
