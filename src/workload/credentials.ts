/**
 * The workload's identity and privileges: the user, groups and capabilities it starts with, and no_new_privs.
 *
 * X00 holds capabilities the workload must never inherit (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE).
 * Credentials are per thread in Linux and the workload is cloned from the thread that calls posix_spawn(3) (X00's
 * main thread, src/workload/supervisor.ts), so {@linkcode spawnWithCredentials} changes that thread's credentials
 * with raw system calls for the duration of the spawn and restores them afterwards; Deno's other threads never
 * change. What it sets for the child:
 *
 * - no_new_privs (setuid bits and file capabilities are ignored from then on, by the workload and its children);
 * - a bounding set of only the allowed capabilities (needs CAP_SETPCAP), an empty ambient set, an inheritable
 *   set of the allowed ones; a non-root workload with listed capabilities gets them as ambient capabilities;
 * - the supplementary groups, gid and uid (real and effective; the saved ids let the thread restore its own).
 *
 * The bounding set and no_new_privs of X00's main thread stay reduced: neither is needed by X00 after start-up.
 *
 * @module
 */
import {
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_SET_NO_NEW_PRIVS,
  prctl,
  threadCapget,
  threadCapset,
  threadGetgroups,
  threadGetresgid,
  threadGetresuid,
  threadSetgroups,
  threadSetresgid,
  threadSetresuid,
} from "../../ffi/libc.ts";
import { PermissionError, UsageError } from "../errors.ts";
import type { AccountId, WorkloadPolicy } from "../policy/types.ts";
import {
  capabilityNames,
  capabilityNumber,
  DEFAULT_CONTAINER_CAPABILITIES,
} from "../protect/capabilities.ts";

/** Resolved credentials of the workload. */
export interface WorkloadCredentials {
  /** uid to run as; undefined keeps X00's. */
  uid?: number;
  /** gid to run as; undefined keeps X00's. */
  gid?: number;
  /** Supplementary groups; undefined keeps X00's. */
  groups?: number[];
  /** Capabilities the workload may hold (bit N = capability N). */
  capabilities: bigint;
  /** Whether a non-root workload receives `capabilities` as ambient capabilities (they were listed). */
  ambient: boolean;
}

/** Where account names are looked up. */
export interface AccountFiles {
  passwd: string;
  group: string;
}

const SYSTEM_FILES: AccountFiles = { passwd: "/etc/passwd", group: "/etc/group" };

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function readLines(path: string): string[][] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new UsageError(`Cannot read ${path}: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  }
  return text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(":"));
}

function passwd(files: AccountFiles): PasswdEntry[] {
  return readLines(files.passwd).filter((f) => f.length >= 4).map((f) => ({
    name: f[0]!,
    uid: Number(f[2]),
    gid: Number(f[3]),
  }));
}

function groupFile(files: AccountFiles): GroupEntry[] {
  return readLines(files.group).filter((f) => f.length >= 3).map((f) => ({
    name: f[0]!,
    gid: Number(f[2]),
    members: (f[3] ?? "").split(",").filter(Boolean),
  }));
}

/** The mask of a default container's capabilities. */
export function defaultCapabilities(): bigint {
  let mask = 0n;
  for (const name of DEFAULT_CONTAINER_CAPABILITIES) mask |= 1n << BigInt(capabilityNumber(name)!);
  return mask;
}

/**
 * Resolves the policy's `workload` section: names through /etc/passwd and /etc/group (as X00 sees them), the
 * default groups and capabilities. Problems are one-line {@linkcode UsageError}s naming the field.
 *
 * @example Usage
 * ```ts ignore
 * const creds = resolveCredentials({ user: "nobody" });
 * console.log(creds.uid, creds.gid, creds.groups);
 * ```
 */
export function resolveCredentials(
  spec: WorkloadPolicy,
  files: AccountFiles = SYSTEM_FILES,
): WorkloadCredentials {
  const users = spec.user === undefined ? [] : passwd(files);
  const groups =
    spec.group === undefined && spec.groups === undefined && typeof spec.user !== "string"
      ? []
      : groupFile(files);
  const gidOf = (id: AccountId, field: string): number => {
    if (typeof id === "number") return id;
    const g = groups.find((e) => e.name === id);
    if (!g) throw new UsageError(`workload.${field}: no group '${id}' in ${files.group}`);
    return g.gid;
  };
  let uid: number | undefined;
  let gid: number | undefined;
  let supplementary: number[] | undefined;
  if (spec.user !== undefined) {
    const entry = typeof spec.user === "number"
      ? users.find((u) => u.uid === spec.user)
      : users.find((u) => u.name === spec.user);
    if (typeof spec.user === "string" && !entry) {
      throw new UsageError(`workload.user: no user '${spec.user}' in ${files.passwd}`);
    }
    uid = typeof spec.user === "number" ? spec.user : entry!.uid;
    if (spec.group === undefined) {
      if (!entry) {
        throw new UsageError(
          `workload.group is required: workload.user ${spec.user} has no entry in ${files.passwd}`,
        );
      }
      gid = entry.gid;
    }
    if (spec.groups === undefined) {
      supplementary = typeof spec.user === "string"
        ? groups.filter((g) => g.members.includes(spec.user as string)).map((g) => g.gid)
        : [];
    }
  }
  if (spec.group !== undefined) gid = gidOf(spec.group, "group");
  if (spec.groups !== undefined) {
    supplementary = spec.groups.map((g, i) => gidOf(g, `groups[${i}]`));
  }
  let capabilities = 0n;
  if (spec.capabilities === undefined) {
    capabilities = defaultCapabilities();
  } else {
    for (const name of spec.capabilities) capabilities |= 1n << BigInt(capabilityNumber(name)!);
  }
  return {
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    ...(supplementary !== undefined ? { groups: [...new Set(supplementary)] } : {}),
    capabilities,
    ambient: spec.capabilities !== undefined,
  };
}

/** The highest capability number this kernel knows. */
function lastCap(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/sys/kernel/cap_last_cap").trim());
  } catch {
    return 40;
  }
}

const CAP_SETGID = 6;
const CAP_SETUID = 7;
const CAP_SETPCAP = 8;

/** The capabilities in this thread's bounding set beyond `keep`. */
function extraBoundingCaps(keep: bigint): bigint {
  let extra = 0n;
  for (let cap = 0; cap <= lastCap(); cap++) {
    const bit = 1n << BigInt(cap);
    if (!(keep & bit) && prctl(PR_CAPBSET_READ, BigInt(cap)) === 1) extra |= bit;
  }
  return extra;
}

function requireCapability(effective: bigint, cap: number, extra = 0n): void {
  if ((effective >> BigInt(cap)) & 1n) return;
  const name = capabilityNames(1n << BigInt(cap))[0]!;
  const names = capabilityNames(extra);
  const why = cap === CAP_SETPCAP
    ? `to keep ${names[0]}${
      names.length > 1 ? ` and ${names.length - 1} more` : ""
    } of its own capabilities from the workload`
    : "to start the workload as the policy's user and groups";
  throw new PermissionError(name, "run", why);
}

/**
 * Checks, before any secret is fetched, that {@linkcode spawnWithCredentials} will be able to apply `creds`:
 * CAP_SETPCAP when the bounding set holds more than the workload may have, CAP_SETUID and CAP_SETGID for
 * another identity. Throws a {@linkcode PermissionError}.
 */
export function checkCredentials(creds: WorkloadCredentials): void {
  const caps = threadCapget();
  const extra = extraBoundingCaps(creds.capabilities & caps.permitted);
  if (extra !== 0n) requireCapability(caps.effective, CAP_SETPCAP, extra);
  if (creds.groups !== undefined || creds.gid !== undefined) {
    requireCapability(caps.effective, CAP_SETGID);
  }
  if (creds.uid !== undefined) requireCapability(caps.effective, CAP_SETUID);
}

/**
 * Calls `spawn` (which must create the child from this thread, as posix_spawn(3) does) with this thread's
 * credentials set to what the workload may have, then restores them. Throws a {@linkcode PermissionError} when X00
 * cannot keep its own capabilities from the workload (no CAP_SETPCAP): the workload does not start.
 */
export function spawnWithCredentials<T>(creds: WorkloadCredentials, spawn: () => T): T {
  const before = threadCapget();
  const uids = threadGetresuid();
  const gids = threadGetresgid();
  const groups = threadGetgroups();
  const keep = creds.capabilities & before.permitted;
  prctl(PR_SET_NO_NEW_PRIVS, 1n);
  const extra = extraBoundingCaps(keep);
  if (extra !== 0n) requireCapability(before.effective, CAP_SETPCAP, extra);
  for (let cap = 0; cap <= lastCap(); cap++) {
    if ((extra >> BigInt(cap)) & 1n) prctl(PR_CAPBSET_DROP, BigInt(cap));
  }
  const runsAsRoot = (creds.uid ?? uids.effective) === 0;
  let changed = 0;
  try {
    prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_CLEAR_ALL));
    // Inheritable: only what a non-root workload is to receive as ambient capabilities (for root the bounding set
    // decides).
    const inheritable = !runsAsRoot && creds.ambient ? keep : 0n;
    threadCapset({ ...before, inheritable });
    changed = 1;
    if (!runsAsRoot && creds.ambient) {
      for (let cap = 0; cap <= lastCap(); cap++) {
        if ((keep >> BigInt(cap)) & 1n) {
          prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_RAISE), BigInt(cap));
        }
      }
    }
    if (creds.groups !== undefined) threadSetgroups(creds.groups);
    changed = 2;
    if (creds.gid !== undefined) threadSetresgid(creds.gid, creds.gid);
    changed = 3;
    if (creds.uid !== undefined) threadSetresuid(creds.uid, creds.uid);
    changed = 4;
    return spawn();
  } finally {
    // Back to X00's own, in reverse: the uid first (it gives the effective capabilities back), then the rest.
    if (changed >= 4 && creds.uid !== undefined) {
      threadSetresuid(uids.real, uids.effective, uids.saved);
    }
    if (changed >= 3 && creds.gid !== undefined) {
      threadSetresgid(gids.real, gids.effective, gids.saved);
    }
    if (changed >= 2 && creds.groups !== undefined) threadSetgroups(groups);
    if (changed >= 1) threadCapset(before);
    prctl(PR_CAP_AMBIENT, BigInt(PR_CAP_AMBIENT_CLEAR_ALL));
  }
}

/** What X00's main thread keeps once its programs are loaded: CAP_BPF (every bpf(2) call on its maps),
 * CAP_SYS_PTRACE (naming other users' executables in events), and a default container's set (what it may hand
 * to a workload, including CAP_SETPCAP, CAP_SETUID, CAP_SETGID and CAP_KILL to start, signal and restart it). */
export function retainedCapabilities(): bigint {
  return defaultCapabilities() | (1n << 39n) | (1n << 19n);
}

/**
 * Drops from the calling thread (X00's main thread: it runs all of X00's JavaScript and forks the workload) every
 * capability outside {@linkcode retainedCapabilities}: CAP_SYS_ADMIN, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_MODULE
 * and the rest are gone from it for good. Deno's other threads keep theirs (capabilities are per thread and Deno
 * runs no code of X00's choosing there). `forWorkload`: capabilities the policy lets the workload keep, which
 * the main thread must keep to hand them on. Returns the capabilities dropped.
 */
export function dropMainThreadCapabilities(forWorkload = 0n): bigint {
  const caps = threadCapget();
  const keep = retainedCapabilities() | forWorkload;
  const dropped = caps.permitted & ~keep;
  if (dropped === 0n) return 0n;
  threadCapset({
    effective: caps.effective & keep,
    permitted: caps.permitted & keep,
    inheritable: caps.inheritable & keep,
  });
  return dropped;
}
