/**
 * Effective capabilities of this process, read from /proc/self/status.
 *
 * @module
 */

/** Capability numbers X00 cares about. */
export const CAPS = {
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

/** A capability name. */
export type CapName = keyof typeof CAPS;

/** The effective capability set (bitmask) from a /proc/PID/status text. */
export function parseCapEff(status: string): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex === undefined ? 0n : BigInt("0x" + hex);
}

/** Which of `names` this process has in its effective set. */
export function effectiveCaps(
  status = Deno.readTextFileSync("/proc/self/status"),
): Record<CapName, boolean> {
  const eff = parseCapEff(status);
  const out = {} as Record<CapName, boolean>;
  for (const [name, bit] of Object.entries(CAPS) as [CapName, number][]) {
    out[name] = (eff & (1n << BigInt(bit))) !== 0n;
  }
  return out;
}

/**
 * The first capability missing for loading and attaching BPF tracing programs (CAP_BPF + CAP_PERFMON, or
 * CAP_SYS_ADMIN on older kernels), or undefined when loading is allowed.
 */
export function missingBpfCapability(caps = effectiveCaps()): CapName | undefined {
  if (caps.CAP_SYS_ADMIN) return undefined;
  if (!caps.CAP_BPF) return "CAP_BPF";
  if (!caps.CAP_PERFMON) return "CAP_PERFMON";
  return undefined;
}

/** Every capability name of Linux 6.x (include/uapi/linux/capability.h), by number. */
export const CAPABILITY_NAMES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/**
 * The capabilities a container gets by default (Docker, containerd and CRI-O's default set): what a workload
 * started by X00 may hold unless the policy says otherwise. CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN and
 * CAP_SYS_PTRACE are not among them.
 */
export const DEFAULT_CONTAINER_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
] as const;

/** The number of a capability name (`CAP_NET_RAW` or `NET_RAW`), or undefined. */
export function capabilityNumber(name: string): number | undefined {
  const full = name.startsWith("CAP_") ? name : `CAP_${name}`;
  const n = (CAPABILITY_NAMES as readonly string[]).indexOf(full);
  return n < 0 ? undefined : n;
}

/** The names of the capabilities set in `mask`. */
export function capabilityNames(mask: bigint): string[] {
  return CAPABILITY_NAMES.filter((_, i) => (mask & (1n << BigInt(i))) !== 0n);
}
