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

/** Where cgroup v2 is mounted (from /proc/self/mountinfo), or undefined. */
export function cgroup2Mount(
  mountinfo = Deno.readTextFileSync("/proc/self/mountinfo"),
): string | undefined {
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (right?.startsWith("cgroup2 ")) return left!.split(" ")[4];
  }
  return undefined;
}

/**
 * The cgroup v2 id (what bpf_get_current_cgroup_id() returns: the inode number of the cgroup's directory) of
 * `path`, relative to the cgroup2 mount. Throws an Error naming the path when there is no such cgroup.
 */
export function cgroupId(path: string): bigint {
  const mount = cgroup2Mount();
  if (mount === undefined) throw new Error("cgroup v2 is not mounted");
  const dir = mount.replace(/\/$/, "") + path;
  try {
    const st = Deno.statSync(dir);
    if (!st.isDirectory || st.ino === null) throw new Error("not a cgroup directory");
    return BigInt(st.ino);
  } catch (e) {
    throw new Error(`no cgroup '${path}' (${dir}): ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
}

/**
 * The path (relative to the cgroup2 mount) of the cgroup whose id is `id`, found by walking the cgroup tree
 * (at most `limit` directories), or undefined.
 */
export function cgroupPathOf(id: bigint, limit = 20000): string | undefined {
  const mount = cgroup2Mount();
  if (mount === undefined) return undefined;
  const root = mount.replace(/\/$/, "");
  const queue = [""];
  let seen = 0;
  while (queue.length > 0 && seen < limit) {
    const rel = queue.shift()!;
    seen++;
    try {
      if (BigInt(Deno.statSync(root + (rel || "/")).ino ?? -1) === id) return rel || "/";
      for (const e of Deno.readDirSync(root + (rel || "/"))) {
        if (e.isDirectory) queue.push(`${rel}/${e.name}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
