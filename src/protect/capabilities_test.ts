import assert from "node:assert/strict";
import { CAPS, effectiveCaps, missingBpfCapability, parseCapEff } from "./capabilities.ts";

/** /proc/PID/status as a 6.x kernel writes it, with `capEff` in the CapEff line. */
function status(capEff: string): string {
  return [
    "Name:\tdeno",
    "Umask:\t0022",
    "State:\tS (sleeping)",
    "Tgid:\t4152",
    "Uid:\t0\t0\t0\t0",
    "Gid:\t0\t0\t0\t0",
    "CapInh:\t0000000000000000",
    "CapPrm:\t000001ffffffffff",
    `CapEff:\t${capEff}`,
    "CapBnd:\t000001ffffffffff",
    "CapAmb:\t0000000000000000",
    "NoNewPrivs:\t0",
    "Seccomp:\t0",
    "",
  ].join("\n");
}

Deno.test("parseCapEff() reads the effective set of root", () => {
  assert.equal(parseCapEff(status("000001ffffffffff")), (1n << 41n) - 1n);
});

Deno.test("parseCapEff() reads an empty set and a missing line as 0", () => {
  assert.equal(parseCapEff(status("0000000000000000")), 0n);
  assert.equal(parseCapEff("Name:\tx\nCapPrm:\t000001ffffffffff\n"), 0n);
  assert.equal(parseCapEff(""), 0n);
});

Deno.test("parseCapEff() reads CapEff, not CapPrm or CapBnd", () => {
  assert.equal(parseCapEff(status("00000000a80425fb")), 0xa80425fbn); // Docker's default set
});

Deno.test("effectiveCaps() names each capability X00 needs", () => {
  assert.deepEqual(effectiveCaps(status("000001ffffffffff")), {
    CAP_SYS_PTRACE: true,
    CAP_SYS_ADMIN: true,
    CAP_PERFMON: true,
    CAP_BPF: true,
  });
  const bpfOnly = (1n << BigInt(CAPS.CAP_BPF)) | (1n << BigInt(CAPS.CAP_PERFMON));
  assert.equal(bpfOnly, 0xc000000000n);
  assert.deepEqual(effectiveCaps(status(bpfOnly.toString(16).padStart(16, "0"))), {
    CAP_SYS_PTRACE: false,
    CAP_SYS_ADMIN: false,
    CAP_PERFMON: true,
    CAP_BPF: true,
  });
  assert.deepEqual(effectiveCaps(status("00000000a80425fb")), {
    CAP_SYS_PTRACE: false,
    CAP_SYS_ADMIN: false,
    CAP_PERFMON: false,
    CAP_BPF: false,
  });
});

Deno.test("missingBpfCapability() names the first capability missing for BPF", () => {
  const caps = (hex: string) => effectiveCaps(status(hex));
  assert.equal(missingBpfCapability(caps("000001ffffffffff")), undefined);
  assert.equal(missingBpfCapability(caps("0000000000200000")), undefined, "CAP_SYS_ADMIN alone");
  assert.equal(missingBpfCapability(caps("000000c000000000")), undefined, "CAP_BPF + CAP_PERFMON");
  assert.equal(missingBpfCapability(caps("0000008000000000")), "CAP_PERFMON", "CAP_BPF alone");
  assert.equal(missingBpfCapability(caps("0000004000000000")), "CAP_BPF", "CAP_PERFMON alone");
  assert.equal(missingBpfCapability(caps("0000000000000000")), "CAP_BPF");
});
