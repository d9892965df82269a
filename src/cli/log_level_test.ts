import assert from "node:assert/strict";
import { logLevelFrom, shown } from "./log_level.ts";
import { UsageError } from "../errors.ts";

Deno.test("logLevelFrom() reads X00_LOG_LEVEL, X00_DEBUG, and refuses other values", () => {
  assert.equal(logLevelFrom({}), "warn");
  assert.equal(logLevelFrom({ X00_DEBUG: "1" }), "debug");
  assert.equal(logLevelFrom({ X00_DEBUG: "1", X00_LOG_LEVEL: "error" }), "error");
  for (const l of ["debug", "info", "warn", "error"]) {
    assert.equal(logLevelFrom({ X00_LOG_LEVEL: l }), l);
  }
  assert.throws(() => logLevelFrom({ X00_LOG_LEVEL: "INFO" }), UsageError);
  assert.ok(shown("error", "warn") && shown("warn", "warn") && !shown("info", "warn"));
  assert.ok(shown("debug", "debug") && !shown("debug", "info"));
});
