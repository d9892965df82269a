/**
 * Pseudo file systems BPF needs: tracefs (tracepoint ids), securityfs (the LSM list) and bpffs. Many minimal
 * hosts and containers do not mount them; X00 mounts what is missing when it runs as root.
 *
 * @module
 */
import { mountPseudoFs } from "../../ffi/libc.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Where each pseudo file system goes and a file that proves it is mounted. */
const FS = {
  tracefs: { target: "/sys/kernel/tracing", probe: "/sys/kernel/tracing/events" },
  securityfs: { target: "/sys/kernel/security", probe: "/sys/kernel/security/lsm" },
  bpf: { target: "/sys/fs/bpf", probe: "" },
} as const;

/** Result of {@linkcode ensureMounted}. */
export interface MountResult {
  fs: keyof typeof FS;
  /** True when it was already there or is now mounted. */
  ok: boolean;
  /** True when X00 mounted it now. */
  mounted: boolean;
  error?: string;
}

/** Mounts `fs` at its standard place if it is not mounted yet. Never throws. */
export function ensureMounted(fs: keyof typeof FS): MountResult {
  const { target, probe } = FS[fs];
  if (probe && exists(probe)) return { fs, ok: true, mounted: false };
  if (!probe) return { fs, ok: exists(target), mounted: false };
  // debugfs-era kernels expose tracing under /sys/kernel/debug/tracing; libbpf looks there too.
  if (fs === "tracefs" && exists("/sys/kernel/debug/tracing/events")) {
    return { fs, ok: true, mounted: false };
  }
  try {
    mountPseudoFs(fs, target);
    return { fs, ok: exists(probe), mounted: true };
  } catch (e) {
    return { fs, ok: false, mounted: false, error: e instanceof Error ? e.message : String(e) };
  }
}
