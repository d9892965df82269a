// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* lsm_file_protect: BPF-LSM enforcement. Keyed on the target task (tgid) and on memfd inodes, never on path
 * strings, so a second procfs mount, symlinks, task/TID variants and io_uring meet the same checks. In audit mode
 * (`enforce` false) the same hooks only report. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "x00_protect.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("lsm/ptrace_access_check")
int BPF_PROG(ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return ret;
	return check_ptrace_access(child, mode);
}

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	return check_file_open(file);
}

/* PTRACE_TRACEME by a protected process would hand it to its parent: refuse unless the parent is family. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(ptrace_traceme, struct task_struct *parent, int ret)
{
	__u32 self = bpf_get_current_pid_tgid() >> 32;
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	struct x00_protection *mine, *theirs;

	if (ret)
		return ret;
	mine = bpf_map_lookup_elem(&protected, &self);
	if (!mine)
		return 0;
	theirs = bpf_map_lookup_elem(&protected, &ptgid);
	if (theirs && theirs->family == mine->family)
		return 0;
	emit_access(parent, mine->family, X00_RES_PTRACE_TRACEME, 0, X00_HOOK_PTRACE_TRACEME, enforce && block_ptrace);
	return enforce && block_ptrace ? -EPERM : 0;
}
