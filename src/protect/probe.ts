/**
 * Feature probes for `x00 doctor`: each one actually tries the thing (load and attach an LSM program, create a
 * memfd_secret) rather than trusting a config file. Returns data; the CLI formats it.
 *
 * @module
 */
import { BpfError, BpfVerifierError, libbpfPath, libbpfVersion } from "./libbpf.ts";
import { close, memfdCreate, memfdSecret, MFD_ALLOW_SEALING, MFD_CLOEXEC } from "../../ffi/libc.ts";
import { explainLsmFailure, fallbackRodata, lsmRodata } from "./access_monitor.ts";
import { effectiveCaps } from "./capabilities.ts";
import { ensureMounted } from "./kernel_fs.ts";
import { LoadedObject, type RodataValue } from "./loaded_object.ts";

/** One finding. */
export interface Check {
  /** Stable id, e.g. `bpf_lsm`. */
  id: string;
  /** What was checked. */
  title: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** When not ok: what it breaks. */
  impact?: string;
  /** When not ok: how to fix it. */
  fix?: string;
  /** Needed for `enforce` (true) or only useful (false). */
  requiredFor: "enforce" | "audit" | "optional";
  /** For a BPF object that failed: each of its programs, loaded on its own with the real settings. */
  programs?: ProgramProbe[];
}

/** One program of a BPF object, loaded and attached on its own. */
export interface ProgramProbe {
  /** The C function name. */
  name: string;
  /** Its ELF section, e.g. `lsm/file_open`. */
  section: string;
  ok: boolean;
  /** When not ok: the verifier's (or libbpf's) reason in one line. */
  reason?: string;
  /** When not ok: everything libbpf logged, the whole verifier log included. */
  log?: string;
}

/** The doctor's verdict. */
export interface DoctorReport {
  kernel: string;
  checks: Check[];
  /** `enforce`: everything works; `audit`: only observation works; `none`: BPF is unusable. */
  capability: "enforce" | "audit" | "none";
}

function read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return undefined;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type ObjectName = "exec_monitor" | "lsm_file_protect" | "access_monitor";

/** Loads and attaches `name` (or only `program` of it), then closes it. */
async function loadAndAttach(
  name: ObjectName,
  rodata: Record<string, RodataValue>,
  only?: { program: string; all: string[] },
): Promise<void> {
  const skip = only ? only.all.filter((p) => p !== only.program) : [];
  const obj = await LoadedObject.load(name, { rodata, skip });
  try {
    obj.attachAll();
  } finally {
    obj.close();
  }
}

/** Each program of `name` loaded and attached on its own, to name every one the kernel refuses. */
async function probePrograms(
  name: ObjectName,
  rodata: Record<string, RodataValue>,
): Promise<ProgramProbe[]> {
  const programs = await LoadedObject.programsOf(name);
  const all = programs.map((p) => p.name);
  const out: ProgramProbe[] = [];
  for (const p of programs) {
    try {
      await loadAndAttach(name, rodata, { program: p.name, all });
      out.push({ name: p.name, section: p.section, ok: true });
    } catch (e) {
      const reason = e instanceof BpfVerifierError
        ? e.reason
        : message(e).replace(`Cannot load BPF object ${name}: `, "load: ");
      const log = e instanceof BpfError ? e.log : undefined;
      out.push({ name: p.name, section: p.section, ok: false, reason, ...(log ? { log } : {}) });
    }
  }
  return out;
}

/** Loads an object with the settings X00 really uses; on failure, every program that fails and why. */
async function tryLoad(
  name: ObjectName,
  rodata: Record<string, RodataValue>,
): Promise<{ error?: string; programs?: ProgramProbe[] }> {
  try {
    await loadAndAttach(name, rodata);
    return {};
  } catch (e) {
    const error = name === "lsm_file_protect" ? explainLsmFailure(e) : message(e);
    const programs = await probePrograms(name, rodata).catch(() => undefined);
    const failed = programs?.filter((p) => !p.ok) ?? [];
    if (failed.length === 0) return { error, programs };
    return { error: `${error} — refused: ${failed.map((p) => p.name).join(", ")}`, programs };
  }
}

/** Runs every probe. Needs root for the BPF probes (they report the missing capability otherwise). */
export async function runProbes(): Promise<DoctorReport> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const kernel = read("/proc/sys/kernel/osrelease") ?? "unknown";

  let btf = false;
  try {
    btf = Deno.statSync("/sys/kernel/btf/vmlinux").isFile;
  } catch {
    btf = false;
  }
  add({
    id: "btf",
    title: "kernel BTF (/sys/kernel/btf/vmlinux)",
    ok: btf,
    detail: btf ? "present" : "missing",
    impact: "CO-RE programs cannot be relocated: nothing loads",
    fix: "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (all major distributions since 2020)",
    requiredFor: "audit",
  });

  const caps = effectiveCaps();
  for (
    const [cap, why] of [
      ["CAP_BPF", "load BPF programs and maps"],
      ["CAP_PERFMON", "attach tracing programs"],
      [
        "CAP_SYS_ADMIN",
        "use BPF on kernels before 5.8, mount tracefs/securityfs, run BPF_PROG_TEST_RUN",
      ],
      ["CAP_SYS_PTRACE", "read other processes' /proc entries for event enrichment"],
      ["CAP_SETPCAP", "keep X00's capabilities out of the workload's bounding set (x00 run)"],
      ["CAP_SETUID", "start the workload as workload.user"],
      ["CAP_SETGID", "start the workload with workload.group and workload.groups"],
      ["CAP_KILL", "signal (forward to, stop, restart) a workload running as another user"],
    ] as const
  ) {
    const bpfRelated = cap === "CAP_BPF" || cap === "CAP_PERFMON" || cap === "CAP_SYS_ADMIN";
    const have = caps[cap] || (bpfRelated && caps.CAP_SYS_ADMIN);
    add({
      id: cap.toLowerCase(),
      title: cap,
      ok: have,
      detail: `${have ? "effective" : "missing"}: needed to ${why}`,
      impact: `cannot ${why}`,
      fix:
        "run as root, or grant the capability (e.g. securityContext.capabilities.add in Kubernetes)",
      requiredFor: bpfRelated ? "audit" : cap === "CAP_SETPCAP" ? "enforce" : "optional",
    });
  }

  let version = "";
  let libbpfError = "";
  try {
    version = libbpfVersion();
  } catch (e) {
    libbpfError = message(e);
  }
  add({
    id: "libbpf",
    title: "libbpf",
    ok: version !== "" && Number(version.split(".")[0]) >= 1,
    detail: version ? `version ${version} (${libbpfPath()})` : libbpfError,
    impact: "X00 cannot load any BPF program",
    fix: "apt-get install libbpf1 (>= 1.0), or set X00_LIBBPF_PATH",
    requiredFor: "audit",
  });

  const tracefs = ensureMounted("tracefs");
  add({
    id: "tracefs",
    title: "tracefs (tracepoint ids)",
    ok: tracefs.ok,
    detail: tracefs.ok
      ? (tracefs.mounted ? "mounted by x00 at /sys/kernel/tracing" : "mounted")
      : tracefs.error ??
        "missing",
    impact: "syscall tracepoints (the access fallback) cannot attach",
    fix: "mount -t tracefs tracefs /sys/kernel/tracing",
    requiredFor: "audit",
  });

  const secfs = ensureMounted("securityfs");
  const lsmList = read("/sys/kernel/security/lsm") ?? "";
  const listed = lsmList.split(",").includes("bpf");
  add({
    id: "lsm_list",
    title: "'bpf' in the active LSM list",
    ok: listed,
    detail: secfs.ok ? `lsm=${lsmList}` : `securityfs unavailable: ${secfs.error ?? "not mounted"}`,
    impact: "enforce mode is impossible (audit still works through tracepoints)",
    fix:
      "boot with lsm=<current list>,bpf (CONFIG_BPF_LSM=y), e.g. in GRUB_CMDLINE_LINUX, then reboot",
    requiredFor: "enforce",
  });

  const lockdown = read("/sys/kernel/security/lockdown");
  const mode = lockdown?.match(/\[(\w+)\]/)?.[1] ?? "unknown";
  add({
    id: "lockdown",
    title: "kernel lockdown",
    ok: mode !== "confidentiality",
    detail: lockdown ? `mode ${mode}` : "not available",
    impact: "lockdown=confidentiality forbids BPF reads of kernel memory: programs fail to load",
    fix: "boot with lockdown=integrity or none",
    requiredFor: "audit",
  });

  // Each BPF object really loaded and attached (then detached): the probe is the thing itself.
  const objectProbes = [
    {
      object: "exec_monitor",
      id: "tp_btf_ringbuf",
      title: "tp_btf programs and ring buffers (exec monitor)",
      impact: "no exec events",
      fix: "kernel >= 5.8 with BTF; run as root",
      requiredFor: "audit",
    },
    {
      object: "access_monitor",
      id: "access_tracepoints",
      title: "syscall-exit program (access fallback)",
      impact: "no access events where BPF-LSM is unavailable",
      fix: "a kernel with BTF and tp_btf programs (5.5 or later, CONFIG_DEBUG_INFO_BTF=y)",
      requiredFor: "optional",
    },
    {
      object: "lsm_file_protect",
      id: "bpf_lsm",
      title: "BPF-LSM program loads and attaches",
      impact: "enforce mode is impossible: x00 run refuses to start workloads in enforce mode",
      fix: listed ? "see the detail: the kernel refused the program" : "boot with lsm=...,bpf",
      requiredFor: "enforce",
    },
  ] as const;
  // The settings `x00 run` (enforce mode, every block on) and `x00 audit` really load.
  const settings: Record<ObjectName, Record<string, RodataValue>> = {
    exec_monitor: { emit_fork_exit: true },
    access_monitor: fallbackRodata({ enforce: false, auditAll: true, allowFallback: true }),
    lsm_file_protect: lsmRodata({
      enforce: true,
      auditAll: false,
      allowFallback: false,
      foreignBpf: "refuse_tracing",
    }),
  };
  for (const { object, ...check } of objectProbes) {
    const { error, programs } = await tryLoad(object, settings[object]);
    add({
      ...check,
      ok: error === undefined,
      detail: error ?? `${object} loaded and attached (then detached)`,
      ...(programs ? { programs } : {}),
    });
  }

  let memfd = "";
  try {
    close(memfdCreate("x00-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  } catch (e) {
    memfd = message(e);
  }
  add({
    id: "memfd_create",
    title: "memfd_create with sealing",
    ok: memfd === "",
    detail: memfd || "works",
    impact: "file delivery of secrets is impossible",
    fix: "kernel >= 3.17",
    requiredFor: "enforce",
  });

  let secret = "";
  try {
    close(memfdSecret());
  } catch (e) {
    secret = message(e);
  }
  add({
    id: "memfd_secret",
    title: "memfd_secret",
    ok: secret === "",
    detail: secret || "works",
    impact:
      "none today (X00 uses sealed memfds); memfd_secret would also hide pages from the kernel's direct map",
    fix: "boot with secretmem.enable=1 (kernel >= 5.14)",
    requiredFor: "optional",
  });

  const failed = (level: Check["requiredFor"]) =>
    checks.some((c) => !c.ok && c.requiredFor === level);
  const auditOk = !failed("audit");
  const capability = !auditOk ? "none" : failed("enforce") ? "audit" : "enforce";
  return { kernel, checks, capability };
}
