// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* exec_monitor: every exec on the machine (pid, ppid, uid, gid, cgroup, comm, filename, bounded argv), plus fork
 * and exit records for process ancestry. Records go to one ring buffer; records that do not fit are counted in
 * `lost_events`, which user space reports. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "exec_monitor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. */
const volatile bool emit_fork_exit = false; /* fork/exit records (ancestry); exec records are always emitted */
const volatile __u64 filter_cgroup_id = 0;  /* 0: every cgroup */

/* Records dropped because the ring buffer was full. */
__u64 lost_events = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	/* 1 MiB: ~9,300 execs of a short command line (~112 bytes each with the ring's header), 1,200 of the longest
	 * (856 bytes), 11,900 fork or exit records; more records than the fixed-size 2 MiB ring before it held
	 * (2,500) for every exec of up to 320 bytes of filename and argv. User space may resize before load. */
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Where an exec record is put together before its used bytes are copied into the ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct x00_exec_event);
} scratch SEC(".maps");

static __always_inline bool cgroup_selected(void)
{
	return !filter_cgroup_id || bpf_get_current_cgroup_id() == filter_cgroup_id;
}

/* A fork or exit record: the header alone, reserved in place. */
static __always_inline struct x00_exec_event *reserve_header(void)
{
	struct x00_exec_event *e;

	if (!cgroup_selected())
		return NULL;
	e = bpf_ringbuf_reserve(&events, X00_EXEC_HEADER_LEN, 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	return e;
}

static __always_inline void fill_task(struct x00_exec_event *e, struct task_struct *task, __u32 kind)
{
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->kind = kind;
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = BPF_CORE_READ(task, cred, uid.val);
	e->gid = BPF_CORE_READ(task, cred, gid.val);
	e->args_len = 0;
	e->args_truncated = 0;
	e->exit_code = 0;
	e->child_pid = 0;
	e->filename_len = 0;
	e->reserved = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct x00_exec_event *e;
	unsigned long arg_start, arg_end, len;
	__u32 zero = 0, filename_len = 0, args_len = 0, want, size;
	long n;

	if (!cgroup_selected())
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	fill_task(e, p, X00_PROC_EXEC);
	n = bpf_probe_read_kernel_str(e->data, X00_FILENAME_LEN, BPF_CORE_READ(bprm, filename));
	if (n > 1) /* n counts the NUL: at most X00_FILENAME_LEN - 1 bytes of name */
		filename_len = (n - 1) & (X00_FILENAME_LEN - 1);
	e->filename_len = filename_len;

	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	len = arg_end - arg_start;
	if (len > X00_ARGS_LEN) {
		len = X00_ARGS_LEN;
		e->args_truncated = 1;
	}
	/* The masks keep the verifier's bounds explicit: both lengths are powers of two. */
	want = len & (X00_ARGS_LEN - 1) ?: X00_ARGS_LEN;
	if (len > 0 && bpf_probe_read_user(e->data + filename_len, want, (void *)arg_start) == 0)
		args_len = want;
	e->args_len = args_len;
	size = X00_EXEC_HEADER_LEN + filename_len + args_len;
	if (size > sizeof(*e)) /* never: tells the verifier the copy stays inside the slot */
		return 0;
	if (bpf_ringbuf_output(&events, e, size, 0) < 0)
		__sync_fetch_and_add(&lost_events, 1);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct x00_exec_event *e;

	if (!emit_fork_exit)
		return 0;
	/* Threads share the parent's process: only new processes matter for ancestry. */
	if (BPF_CORE_READ(child, tgid) != BPF_CORE_READ(child, pid))
		return 0;
	e = reserve_header();
	if (!e)
		return 0;
	fill_task(e, parent, X00_PROC_FORK);
	e->child_pid = BPF_CORE_READ(child, tgid);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct x00_exec_event *e;

	if (!emit_fork_exit)
		return 0;
	/* Only the exit of the whole process (its leader) is a process exit. */
	if (BPF_CORE_READ(p, tgid) != BPF_CORE_READ(p, pid))
		return 0;
	e = reserve_header();
	if (!e)
		return 0;
	fill_task(e, p, X00_PROC_EXIT);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
