/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What lsm_file_protect.bpf.c (BPF-LSM: can deny) and access_monitor.bpf.c (syscall exit: can only observe)
 * share: constants, the declarations of the maps and settings both use, and inline helpers. The maps, the settings
 * and the programs that keep the protected map (inheritance, cleanup, registration) are defined once, in
 * x00_protect.bpf.c. */
#ifndef __X00_PROTECT_H
#define __X00_PROTECT_H

#include "lsm_file_protect.h"

#define EPERM 1
#define PROC_SUPER_MAGIC 0x9fa0
#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6

#define PTRACE_MODE_READ 0x01
#define PTRACE_MODE_ATTACH 0x02
#define PTRACE_MODE_NOAUDIT 0x04
#define PTRACE_MODE_REALCREDS 0x10

/* Defined once, in x00_protect.bpf.c, which scripts/build_bpf.sh links into each object that includes this
 * header (bpftool gen object). Set by user space before load: */
extern const volatile bool enforce;             /* deny (enforce) or only log (audit) */
extern const volatile bool audit_all;           /* report accesses to every process, not only protected ones */
extern const volatile bool block_environ_read;
extern const volatile bool block_mem_read;
extern const volatile bool block_ptrace;
extern const volatile __u32 filter_accessor_pid; /* never report accesses by this tgid (x00 audit itself) */

/* Records dropped because the ring buffer was full. */
extern __u64 lost_events;

/* Access events for user space. */
struct x00_access_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 19); /* 512 KiB (~3,000 records) */
};
extern struct x00_access_ring access_events SEC(".maps");

/* Protected processes by tgid. Children inherit their parent's entry at fork, in the kernel. */
struct x00_protected_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct x00_protection);
};
extern struct x00_protected_map protected SEC(".maps");

/* Secret memfd inodes -> the family allowed to open them. */
struct x00_secret_inodes_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct x00_inode_key);
	__type(value, __u32);
};
extern struct x00_secret_inodes_map secret_inodes SEC(".maps");

#define MAX_ERRNO 4095

/* The verdict of an LSM hook: -EPERM or 0. Since Linux 6.12 the verifier requires an LSM program to return a
 * value in [-MAX_ERRNO, 0], and it does not follow ranges through a negation, which is what clang makes of
 * `denied ? -EPERM : 0` (EPERM is 1). Each constant is set in a branch of its own behind a compiler barrier, so
 * the verifier sees -1 or 0 on every path. */
static __always_inline int lsm_verdict(bool denied)
{
	int rc = 0;

	if (denied) {
		rc = -EPERM;
		barrier_var(rc);
	}
	return rc;
}

/* What an LSM hook returns when an earlier BPF program on the hook already decided (`ret` != 0): that
 * decision, clamped to the range the kernel accepts (the ctx value is not range-tracked by the verifier). */
static __always_inline int lsm_prior(int ret)
{
	if (ret < -MAX_ERRNO || ret > 0)
		return -EPERM;
	return ret;
}

static __always_inline bool resource_blocked(__u32 resource)
{
	switch (resource) {
	case X00_RES_ENVIRON:
		return block_environ_read;
	case X00_RES_MEM:
		return block_mem_read;
	case X00_RES_SECRET_FILE:
		return true;
	default:
		return block_ptrace;
	}
}

/* May the current process access a process with protection `target`? */
static __always_inline bool family_allows(const struct x00_protection *target)
{
	__u32 self = bpf_get_current_pid_tgid() >> 32;
	struct x00_protection *mine;

	if (target->flags & X00_PROT_SUPERVISOR)
		return false;
	mine = bpf_map_lookup_elem(&protected, &self);
	return mine && mine->family == target->family;
}

static __always_inline struct x00_access_event *emit_access(struct task_struct *target, __u32 family,
							      __u32 resource, __u32 mode, __u32 hook, bool denied)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct x00_access_event *e;
	const unsigned char *exe;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	e = bpf_ringbuf_reserve(&access_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->accessor_cgroup_id = bpf_get_current_cgroup_id();
	e->accessor_pid = pid_tgid >> 32;
	e->accessor_tid = (__u32)pid_tgid;
	e->accessor_uid = (__u32)bpf_get_current_uid_gid();
	e->resource = resource;
	e->ptrace_mode = mode;
	e->hook = hook;
	e->denied = denied;
	e->family = family;
	e->result = denied ? -EPERM : 0;
	bpf_get_current_comm(&e->accessor_comm, sizeof(e->accessor_comm));
	exe = BPF_CORE_READ(cur, mm, exe_file, f_path.dentry, d_name.name);
	if (!exe || bpf_probe_read_kernel_str(&e->accessor_exe, sizeof(e->accessor_exe), exe) < 0)
		e->accessor_exe[0] = 0;
	if (target) {
		e->target_pid = BPF_CORE_READ(target, tgid);
		e->target_tid = BPF_CORE_READ(target, pid);
		e->target_uid = BPF_CORE_READ(target, cred, uid.val);
		e->target_cgroup_id = BPF_CORE_READ(target, cgroups, dfl_cgrp, kn, id);
		bpf_probe_read_kernel_str(&e->target_comm, sizeof(e->target_comm), &target->comm);
	} else {
		e->target_pid = 0;
		e->target_tid = 0;
		e->target_uid = 0;
		e->target_cgroup_id = 0;
		e->target_comm[0] = 0;
	}
	return e; /* the caller may complete it, then must submit it */
}

static __always_inline void submit(struct x00_access_event *e)
{
	if (e)
		bpf_ringbuf_submit(e, 0);
}

#endif /* __X00_PROTECT_H */
