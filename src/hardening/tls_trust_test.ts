import assert from "node:assert/strict";
import {
  ORIGINAL_TRUST,
  trustEnvironment,
  trustPrepared,
  workloadEnvironment,
} from "./tls_trust.ts";

Deno.test("trustEnvironment leaves Deno no root of its own, and workloadEnvironment gives the variables back", () => {
  for (
    const given of [
      { PATH: "/bin" },
      {
        PATH: "/bin",
        DENO_CERT: "/etc/corp.pem",
        NODE_EXTRA_CA_CERTS: "/etc/x.pem",
        DENO_TLS_CA_STORE: "system",
      },
      { DENO_TLS_CA_STORE: "" }, // the user's own empty store comes back too
    ] as Record<string, string>[]
  ) {
    const x00 = trustEnvironment(given);
    assert.ok(trustPrepared(x00));
    assert.equal(x00.DENO_TLS_CA_STORE, "");
    assert.equal(x00.DENO_CERT, undefined);
    assert.equal(x00.NODE_EXTRA_CA_CERTS, undefined);
    assert.deepEqual(trustEnvironment(x00), x00, "preparing twice changes nothing");
    assert.deepEqual(workloadEnvironment(x00), given);
  }
  // Not prepared by X00 (its modules used in-process): passed through as it is.
  const plain = { DENO_CERT: "/a.pem", DENO_TLS_CA_STORE: "" };
  assert.ok(!trustPrepared(plain));
  assert.deepEqual(workloadEnvironment(plain), plain);
  assert.ok(!trustPrepared({ DENO_TLS_CA_STORE: "", [ORIGINAL_TRUST]: "{}", DENO_CERT: "/a.pem" }));
});
