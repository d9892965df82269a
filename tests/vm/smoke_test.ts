/**
 * Smoke test of the VM harness: runs inside the guest booted by `scripts/vm_test.sh` and checks that the kernel
 * offers what the enforcement tests need. Outside the VM (no `X00_VM=1`) the tests are ignored.
 */
import assert from "node:assert/strict";

const IN_VM = Deno.env.get("X00_VM") === "1";

Deno.test({
  name: "VM kernel lists bpf among the active LSMs",
  ignore: !IN_VM,
  fn() {
    const lsms = Deno.readTextFileSync("/sys/kernel/security/lsm").trim().split(",");
    assert(lsms.includes("bpf"), `bpf is not an active LSM: ${lsms.join(",")}`);
  },
});

Deno.test({
  name: "VM tests run as root",
  ignore: !IN_VM,
  fn() {
    assert.equal(Deno.uid(), 0);
  },
});

Deno.test({
  name: "VM kernel exposes its BTF at /sys/kernel/btf/vmlinux",
  ignore: !IN_VM,
  fn() {
    const info = Deno.statSync("/sys/kernel/btf/vmlinux");
    assert(info.isFile, "/sys/kernel/btf/vmlinux is not a file");
  },
});

Deno.test({
  name: "VM guest can dlopen libbpf.so.1 and call it",
  ignore: !IN_VM,
  fn() {
    const path = Deno.env.get("X00_LIBBPF_PATH") ?? "libbpf.so.1";
    const lib = Deno.dlopen(
      path,
      {
        // __u32 libbpf_major_version(void);
        libbpf_major_version: { parameters: [], result: "u32" },
      } as const,
    );
    try {
      assert.equal(lib.symbols.libbpf_major_version(), 1);
    } finally {
      lib.close();
    }
  },
});
