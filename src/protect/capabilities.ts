/**
 * Effective capabilities of this process, read from /proc/self/status.
 *
 * @module
 */

/** Capability numbers X00 cares about. */
export const CAPS = {
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
