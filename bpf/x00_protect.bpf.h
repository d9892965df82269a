/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Protection logic shared by lsm_file_protect.bpf.c (BPF-LSM: can deny) and access_monitor.bpf.c (kprobes: can
 * only observe). Included once per object: it defines maps and configuration. */
#ifndef __X00_PROTECT_BPF_H
#define __X00_PROTECT_BPF_H

#include "lsm_file_protect.h"

#define EPERM 1
#define PROC_SUPER_MAGIC 0x9fa0

#define PTRACE_MODE_READ 0x01
#define PTRACE_MODE_ATTACH 0x02
#define PTRACE_MODE_NOAUDIT 0x04

/* Set by user space before load. */
const volatile bool enforce = false;             /* deny (enforce) or only log (audit) */
const volatile bool audit_all = false;           /* report accesses to every process, not only protected ones */
const volatile bool block_environ_read = true;
const volatile bool block_mem_read = true;
const volatile bool block_ptrace = true;
const volatile __u32 filter_accessor_pid = 0;    /* never report accesses by this tgid (x00 audit itself) */

/* Records dropped because the ring buffer was full. */
__u64 lost_events = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} access_events SEC(".maps");

/* Protected processes by tgid. Children inherit their parent's entry at fork, in the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct x00_protection);
} protected SEC(".maps");

/* Secret memfd inodes -> the family allowed to open them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct x00_inode_key);
	__type(value, __u32);
} secret_inodes SEC(".maps");

/* What the current thread is doing, set at syscall entry or file open and read by the ptrace access check. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* pid_tgid */
	__type(value, __u32); /* enum x00_resource */
} pending SEC(".maps");

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

static __always_inline void emit_access(struct task_struct *target, __u32 family, __u32 resource, __u32 mode,
					__u32 hook, bool denied)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct x00_access_event *e;
	const unsigned char *exe;
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	e = bpf_ringbuf_reserve(&access_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
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
	e->pad = 0;
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
	bpf_ringbuf_submit(e, 0);
}

/* The decisive check: every cross-process read of memory or environment, ptrace attach, process_vm_readv and
 * pidfd_getfd goes through __ptrace_may_access, which skips this hook for the caller's own thread group.
 * Returns -EPERM to deny. */
static __always_inline int check_ptrace_access(struct task_struct *child, unsigned int mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct x00_protection *prot;
	__u32 tgid, family = 0, resource;
	__u32 *label;
	bool denied = false;

	if (mode & PTRACE_MODE_NOAUDIT)
		return 0;
	label = bpf_map_lookup_elem(&pending, &pid_tgid);
	if (label) {
		resource = *label;
		bpf_map_delete_elem(&pending, &pid_tgid);
	} else if (mode & PTRACE_MODE_ATTACH) {
		resource = X00_RES_OTHER_ATTACH;
	} else {
		return 0; /* plain reads of /proc/P/stat, maps, fd links: not an environment or memory read */
	}

	tgid = BPF_CORE_READ(child, tgid);
	prot = bpf_map_lookup_elem(&protected, &tgid);
	if (prot) {
		if (family_allows(prot))
			return 0;
		family = prot->family;
		denied = enforce && resource_blocked(resource);
	} else if (!audit_all || (pid_tgid >> 32) == filter_accessor_pid) {
		return 0;
	}
	emit_access(child, family, resource, mode, X00_HOOK_PTRACE_ACCESS_CHECK, denied);
	return denied ? -EPERM : 0;
}

static __always_inline bool name_is(const unsigned char *name, const char *want, int len)
{
	char buf[8] = {};
	int i;

	if (bpf_probe_read_kernel(buf, len + 1 < 8 ? len + 1 : 8, name) < 0)
		return false;
	for (i = 0; i < 8 && i <= len; i++) {
		if (buf[i] != want[i])
			return false;
	}
	return true;
}

/* Runs on every open on the machine: keep the common path to a couple of loads. Labels procfs environ/mem opens
 * for the access check that follows, and refuses fresh opens of secret memfds outside their family. */
static __always_inline int check_file_open(struct file *file)
{
	struct x00_inode_key key = {};
	struct dentry *dentry;
	struct inode *inode;
	unsigned long magic;
	__u32 *family, resource;
	__u64 pid_tgid;

	inode = BPF_CORE_READ(file, f_inode);
	magic = BPF_CORE_READ(inode, i_sb, s_magic);
	if (magic == PROC_SUPER_MAGIC) {
		dentry = BPF_CORE_READ(file, f_path.dentry);
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		__u32 len = BPF_CORE_READ(dentry, d_name.len);

		pid_tgid = bpf_get_current_pid_tgid();
		if (len == 7 && name_is(name, "environ", 7))
			resource = X00_RES_ENVIRON;
		else if (len == 3 && name_is(name, "mem", 3))
			resource = X00_RES_MEM;
		else {
			/* A label left by an open that never reached the access check (self-access) must not
			 * name this one. */
			bpf_map_delete_elem(&pending, &pid_tgid);
			return 0;
		}
		bpf_map_update_elem(&pending, &pid_tgid, &resource, BPF_ANY);
		return 0;
	}

	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	family = bpf_map_lookup_elem(&secret_inodes, &key);
	if (!family)
		return 0;
	{
		__u32 self = bpf_get_current_pid_tgid() >> 32;
		struct x00_protection *mine = bpf_map_lookup_elem(&protected, &self);

		if (mine && mine->family == *family)
			return 0;
	}
	emit_access(NULL, *family, X00_RES_SECRET_FILE, 0, X00_HOOK_FILE_OPEN, enforce);
	return enforce ? -EPERM : 0;
}

static __always_inline void label_syscall(__u32 resource)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&pending, &pid_tgid, &resource, BPF_ANY);
}

static __always_inline void clear_label(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&pending, &pid_tgid);
}

/* Syscall labels: rare syscalls, so these tracepoints cost nothing on unrelated work. */
SEC("tracepoint/syscalls/sys_enter_ptrace")
int enter_ptrace(void *ctx) { label_syscall(X00_RES_PTRACE); return 0; }
SEC("tracepoint/syscalls/sys_exit_ptrace")
int exit_ptrace(void *ctx) { clear_label(); return 0; }
SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int enter_pvm_readv(void *ctx) { label_syscall(X00_RES_PROCESS_VM_READV); return 0; }
SEC("tracepoint/syscalls/sys_exit_process_vm_readv")
int exit_pvm_readv(void *ctx) { clear_label(); return 0; }
SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int enter_pvm_writev(void *ctx) { label_syscall(X00_RES_PROCESS_VM_WRITEV); return 0; }
SEC("tracepoint/syscalls/sys_exit_process_vm_writev")
int exit_pvm_writev(void *ctx) { clear_label(); return 0; }
SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int enter_pidfd_getfd(void *ctx) { label_syscall(X00_RES_PIDFD_GETFD); return 0; }
SEC("tracepoint/syscalls/sys_exit_pidfd_getfd")
int exit_pidfd_getfd(void *ctx) { clear_label(); return 0; }

/* Inheritance: a child is protected before it first runs (this tracepoint fires before wake_up_new_task). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(inherit_protection, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct x00_protection *prot, inherited;

	if (ptgid == ctgid)
		return 0; /* a new thread: covered by its tgid */
	prot = bpf_map_lookup_elem(&protected, &ptgid);
	if (!prot)
		return 0;
	inherited.family = prot->family;
	inherited.flags = 0; /* children of the supervisor are workload processes */
	bpf_map_update_elem(&protected, &ctgid, &inherited, BPF_ANY);
	return 0;
}

/* Cleanup when the last thread of a protected process exits, so a reused pid is never protected by mistake. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(forget_protection, struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&protected, &tgid);
	return 0;
}

/* Run by user space through BPF_PROG_TEST_RUN: protects the calling process by its kernel tgid, which is right
 * in any pid namespace. */
SEC("raw_tp")
int register_self(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct x00_protection prot;
	struct x00_register_args args;

	if (bpf_probe_read_kernel(&args, sizeof(args), (void *)ctx->args) < 0)
		return -1;
	prot.family = args.family;
	prot.flags = args.flags;
	bpf_map_update_elem(&protected, &tgid, &prot, BPF_ANY);
	return tgid;
}

#endif /* __X00_PROTECT_BPF_H */
