/**
 * A verifier rejection is reported with the verifier's own reason, whatever the length of its log: libbpf hands
 * the whole log to the print callback as one message, which must not be cut.
 *
 * @module
 */
import assert from "node:assert/strict";
import { BpfObject, BpfVerifierError } from "../../src/protect/libbpf.ts";
import { requireRoot, ROOT } from "./_helpers.ts";

async function buildRejected(): Promise<Uint8Array> {
  const out = await Deno.makeTempFile({ suffix: ".bpf.o" });
  try {
    const cc = await new Deno.Command("clang", {
      args: [
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
        "-I",
        `${ROOT}bpf/vmlinux/x86`,
        "-c",
        `${ROOT}tests/host/fixtures/rejected.bpf.c`,
        "-o",
        out,
      ],
      stderr: "piped",
    }).output();
    assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(out);
  }
}

Deno.test("BpfObject.load() names the rejected program and the verifier's reason, with the whole log", async () => {
  requireRoot();
  const object = BpfObject.openMem(await buildRejected(), "rejected");
  try {
    let error: unknown;
    try {
      object.load();
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof BpfVerifierError, `not a verifier error: ${error}`);
    assert.equal(error.program, "rejected_by_verifier");
    assert.match(error.reason, /invalid mem access 'scalar'/);
    assert.match(
      error.message,
      /the verifier rejected program rejected_by_verifier: .*invalid mem access/,
    );
    assert.ok(error.log.length > 16_384, `log of ${error.log.length} bytes: cut?`);
    assert.match(error.log, /-- END PROG LOAD LOG --/);
  } finally {
    object.close();
  }
});
