import assert from "node:assert/strict";
import { lazySymbols, SymbolError } from "../../ffi/_symbols.ts";

Deno.test("lazySymbols binds a symbol when it is first read, and a missing one fails there, by name", () => {
  const libc = lazySymbols("libc.so.6", {
    getpid: { parameters: [], result: "i32" },
    x00_no_such_function: { parameters: [], result: "i32" },
  });
  // The table holds a symbol libc lacks: nothing fails until it is read.
  assert.equal(libc.getpid(), Deno.pid);
  assert.equal(libc.getpid, libc.getpid, "bound once, then a plain property");
  assert.throws(
    () => libc.x00_no_such_function(),
    (e: unknown) =>
      e instanceof SymbolError && /x00_no_such_function in libc\.so\.6/.test(e.message),
  );
});
