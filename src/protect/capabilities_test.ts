import assert from "node:assert/strict";
import {
  capabilityNames,
  capabilityNumber,
  CAPS,
  DEFAULT_CONTAINER_CAPABILITIES,
  effectiveCaps,
  missingBpfCapability,
  parseCapEff,
} from "./capabilities.ts";

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
    CAP_KILL: true,
    CAP_SETGID: true,
    CAP_SETUID: true,
    CAP_SETPCAP: true,
    CAP_SYS_PTRACE: true,
    CAP_SYS_ADMIN: true,
    CAP_PERFMON: true,
    CAP_BPF: true,
  });
  const bpfOnly = (1n << BigInt(CAPS.CAP_BPF)) | (1n << BigInt(CAPS.CAP_PERFMON));
  assert.equal(bpfOnly, 0xc000000000n);
  assert.deepEqual(effectiveCaps(status(bpfOnly.toString(16).padStart(16, "0"))), {
    CAP_KILL: false,
    CAP_SETGID: false,
    CAP_SETUID: false,
    CAP_SETPCAP: false,
    CAP_SYS_PTRACE: false,
    CAP_SYS_ADMIN: false,
    CAP_PERFMON: true,
    CAP_BPF: true,
  });
  // A default container's set: the workload's, never X00's.
  assert.deepEqual(effectiveCaps(status("00000000a80425fb")), {
    CAP_KILL: true,
    CAP_SETGID: true,
    CAP_SETUID: true,
    CAP_SETPCAP: true,
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

Deno.test("capabilityNumber() and capabilityNames() agree with the kernel's numbering", () => {
  assert.equal(capabilityNumber("CAP_NET_BIND_SERVICE"), 10);
  assert.equal(capabilityNumber("NET_BIND_SERVICE"), 10);
  assert.equal(capabilityNumber("CAP_BPF"), 39);
  assert.equal(capabilityNumber("net_bind_service"), undefined);
  assert.equal(capabilityNumber("CAP_EVERYTHING"), undefined);
  assert.deepEqual(capabilityNames(0x400n | (1n << 39n)), ["CAP_NET_BIND_SERVICE", "CAP_BPF"]);
  let mask = 0n;
  for (const n of DEFAULT_CONTAINER_CAPABILITIES) mask |= 1n << BigInt(capabilityNumber(n)!);
  assert.equal(mask, 0xa80425fbn, "Docker's default set");
});
