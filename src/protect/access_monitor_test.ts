import assert from "node:assert/strict";
import { BpfError } from "./libbpf.ts";
import { explainLsmFailure, userDevToKernel } from "./access_monitor.ts";

/** st_dev as glibc's makedev() builds it (what Deno's stat returns) for major < 4096, minor < 2^20. */
function userDev(major: number, minor: number): number {
  return (minor & 0xff) + major * 0x100 + Math.floor(minor / 0x100) * 0x100000;
}

Deno.test("userDevToKernel() converts known major:minor pairs to MKDEV(major, minor)", () => {
  const cases: [number, number, number][] = [
    [0, 1, 0x1], // an anonymous device (tmpfs, procfs)
    [0, 27, 27],
    [8, 1, 0x0080_0001], // /dev/sda1
    [259, 0, 0x1030_0000], // nvme0n1
    [253, 3, 0x0fd0_0003], // device-mapper
    [0, 300, 300], // anonymous minors above 255 move to the high bits in user space
    [4095, 0xfffff, 0xffff_ffff], // the largest pair: the result stays unsigned
  ];
  for (const [major, minor, kernel] of cases) {
    assert.equal(userDevToKernel(userDev(major, minor)), kernel, `${major}:${minor}`);
  }
});

Deno.test("userDevToKernel() agrees with /proc/self/mountinfo for this host's mounts", () => {
  const mounts = Deno.readTextFileSync("/proc/self/mountinfo").split("\n");
  let checked = 0;
  for (const path of ["/", "/proc", "/dev/shm", "/sys"]) {
    const line = mounts.findLast((l) => l.split(" ")[4] === path); // the topmost mount
    if (!line) continue;
    const [major, minor] = line.split(" ")[2]!.split(":").map(Number) as [number, number];
    const dev = Deno.statSync(path).dev;
    assert.equal(userDevToKernel(dev), ((major << 20) | minor) >>> 0, `${path} ${major}:${minor}`);
    checked++;
  }
  assert.ok(checked >= 2, "at least / and /proc are mounted");
});

function lsmList(): string {
  try {
    return Deno.readTextFileSync("/sys/kernel/security/lsm").trim();
  } catch {
    return "";
  }
}

Deno.test("explainLsmFailure() explains EPERM by the LSM list and how to fix it", () => {
  const text = explainLsmFailure(new BpfError("Cannot load BPF object lsm_file_protect", 1));
  const list = lsmList();
  assert.ok(!text.includes("\n"), "one line");
  if (list.split(",").includes("bpf")) {
    assert.match(text, /^the kernel refused to load BPF-LSM programs \(Cannot load BPF object/);
    assert.ok(text.includes(`'${list}'`), text);
    assert.match(text, /errno 1/);
    assert.match(text, /run on a host or VM whose kernel permits BPF LSM programs$/);
  } else {
    assert.match(text, /^the kernel does not run BPF-LSM programs \('bpf' is not in the LSM list/);
    assert.match(text, /boot with lsm=\.\.\.,bpf/);
  }
});

Deno.test("explainLsmFailure() passes other libbpf errors through when bpf is listed", () => {
  const text = explainLsmFailure(new BpfError("Cannot attach BPF program file_open", 22));
  if (lsmList().split(",").includes("bpf")) {
    assert.match(
      text,
      /^BPF-LSM programs failed to load or attach: Cannot attach BPF program file_open/,
    );
    assert.match(text, /errno 22/);
  } else {
    assert.match(text, /'bpf' is not in the LSM list/);
  }
});

Deno.test("explainLsmFailure() describes errors that are not from libbpf", () => {
  assert.equal(
    explainLsmFailure(new Error("BPF object lsm_file_protect has no setting enforce")),
    "BPF-LSM programs failed to load or attach: BPF object lsm_file_protect has no setting enforce",
  );
  assert.equal(
    explainLsmFailure("plain text"),
    "BPF-LSM programs failed to load or attach: plain text",
  );
});
