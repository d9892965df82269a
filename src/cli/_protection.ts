/**
 * What `x00 run` and `x00 agent` both derive from a policy to start the access monitor: the monitor's options,
 * with `foreign_bpf_allow.cgroups` resolved to cgroup v2 ids (a missing cgroup is a usage error naming the field).
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Policy } from "../policy/types.ts";
import type { AccessMonitorOptions } from "../protect/access_monitor.ts";
import { cgroupId } from "../protect/kernel_fs.ts";

/** The access monitor's options for `policy` in enforce or audit mode. */
export function monitorOptions(
  policy: Policy,
  enforce: boolean,
  allowFallback: boolean,
): AccessMonitorOptions {
  const cgroupIds = policy.policy.foreign_bpf_allow.cgroups.map((path, i) => {
    try {
      return cgroupId(path);
    } catch (e) {
      throw new UsageError(
        `${policy.file}: policy.foreign_bpf_allow.cgroups[${i}]: ${(e as Error).message}`,
      );
    }
  });
  return {
    enforce,
    auditAll: false,
    blockEnvironRead: policy.policy.block_environ_read,
    blockMemRead: policy.policy.block_mem_read,
    blockPtrace: policy.policy.block_ptrace,
    allowFallback,
    foreignBpf: policy.policy.foreign_bpf,
    foreignBpfAllow: { uids: policy.policy.foreign_bpf_allow.uids, cgroupIds },
  };
}
