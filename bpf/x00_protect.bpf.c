// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The protection state both protection objects share, defined once: settings, maps, and the programs that keep
 * the protected map (inheritance at fork, cleanup at exit, registration). scripts/build_bpf.sh links this object
 * into lsm_file_protect.bpf.o and access_monitor.bpf.o; it is not loaded on its own. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "x00_protect.h"

/* Set by user space before load (declared, with their meaning, in x00_protect.h). */
const volatile bool enforce = false;
const volatile bool audit_all = false;
const volatile bool block_environ_read = true;
const volatile bool block_mem_read = true;
const volatile bool block_ptrace = true;
const volatile __u32 filter_accessor_pid = 0;

__u64 lost_events = 0;

struct x00_access_ring access_events SEC(".maps");
struct x00_protected_map protected SEC(".maps");
struct x00_secret_inodes_map secret_inodes SEC(".maps");

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
 * in any pid namespace. The context is the test run's argument block itself (struct bpf_raw_tracepoint_args is
 * only `__u64 args[]`, a stable UAPI layout): read through a plain pointer, it costs no CO-RE relocation, whose
 * target lookup scans every type of the kernel's BTF once per struct (~1.5 ms of each load). */
SEC("raw_tp")
int register_self(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct x00_protection prot;
	struct x00_register_args args;

	if (bpf_probe_read_kernel(&args, sizeof(args), ctx) < 0)
		return -1;
	prot.family = args.family;
	prot.flags = args.flags;
	bpf_map_update_elem(&protected, &tgid, &prot, BPF_ANY);
	return tgid;
}

