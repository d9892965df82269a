import assert from "node:assert/strict";
import {
  denoSettingsPrepared,
  ORIGINAL_SETTINGS,
  ownDenoEnvironment,
  workloadEnvironment,
} from "./deno_settings.ts";

Deno.test("ownDenoEnvironment leaves Deno no root of its own and no update check, and workloadEnvironment gives the variables back", () => {
  for (
    const given of [
      { PATH: "/bin" },
      {
        PATH: "/bin",
        DENO_CERT: "/etc/corp.pem",
        NODE_EXTRA_CA_CERTS: "/etc/x.pem",
        DENO_TLS_CA_STORE: "system",
        DENO_NO_UPDATE_CHECK: "",
      },
      { DENO_TLS_CA_STORE: "" }, // the user's own empty store comes back too
      { DENO_NO_UPDATE_CHECK: "1" },
    ] as Record<string, string>[]
  ) {
    const x00 = ownDenoEnvironment(given);
    assert.ok(denoSettingsPrepared(x00));
    assert.equal(x00.DENO_TLS_CA_STORE, "");
    assert.equal(x00.DENO_CERT, undefined);
    assert.equal(x00.NODE_EXTRA_CA_CERTS, undefined);
    assert.equal(x00.DENO_NO_UPDATE_CHECK, "1");
    assert.equal(x00.PATH, given.PATH);
    assert.deepEqual(ownDenoEnvironment(x00), x00, "preparing twice changes nothing");
    assert.deepEqual(workloadEnvironment(x00), given);
  }
  // Not prepared by X00 (its modules used in-process): passed through as it is.
  const plain = { DENO_CERT: "/a.pem", DENO_TLS_CA_STORE: "" };
  assert.ok(!denoSettingsPrepared(plain));
  assert.deepEqual(workloadEnvironment(plain), plain);
  const record = { [ORIGINAL_SETTINGS]: "{}", DENO_TLS_CA_STORE: "", DENO_NO_UPDATE_CHECK: "1" };
  assert.ok(denoSettingsPrepared(record));
  assert.ok(!denoSettingsPrepared({ ...record, DENO_CERT: "/a.pem" }));
  assert.ok(!denoSettingsPrepared({ ...record, DENO_NO_UPDATE_CHECK: "0" }));
});
