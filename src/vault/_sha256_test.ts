import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "./_sha256.ts";

Deno.test("sha256Hex gives FIPS 180-4's digests of its examples", () => {
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex agrees with node:crypto on strings and bytes of every length around the block size", () => {
  for (let n = 0; n <= 300; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    assert.equal(sha256Hex(bytes), createHash("sha256").update(bytes).digest("hex"), `${n} bytes`);
  }
  for (const s of ["é", "hvs.CAESIJ", "ключ", "🔑".repeat(40)]) {
    assert.equal(sha256Hex(s), createHash("sha256").update(s).digest("hex"), s);
  }
});
