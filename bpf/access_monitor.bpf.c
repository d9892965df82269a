// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* access_monitor: the observe-only fallback for kernels that refuse BPF-LSM programs (and have no kprobes).
 * Syscall tracepoints see opens of /proc/P/environ and /proc/P/mem (by the file actually opened, so symlinks and
 * other procfs mounts count), ptrace attach/seize, process_vm_readv/writev and pidfd_getfd, with the result the
 * caller got. It cannot deny anything: enforcement needs lsm_file_protect.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "x00_protect.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EACCES 13
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define PATH_LEN 64
#define PID_FS_MAGIC 0x50494446

/* A syscall in flight, from its entry to its exit. */
struct inflight {
	__u32 resource;
	__u32 target;    /* pid number from the arguments (caller's pid namespace) */
	char path[PATH_LEN]; /* opens: the path argument, kept only when it starts with /proc/ */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Empty value used to insert without a stack copy. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inflight);
} scratch SEC(".maps");

static __always_inline bool reportable(__u32 target_tgid, __u32 *family)
{
	__u32 self = bpf_get_current_pid_tgid() >> 32;
	struct x00_protection *prot;

	if (target_tgid == self)
		return false; /* self-access is not an event */
	prot = bpf_map_lookup_elem(&protected, &target_tgid);
	if (prot) {
		if (family_allows(prot))
			return false;
		*family = prot->family;
		return true;
	}
	*family = 0;
	return audit_all && self != filter_accessor_pid;
}

static __always_inline void start(__u32 resource, __u32 target, const char *path)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct inflight *f = bpf_map_lookup_elem(&scratch, &zero);

	if (!f)
		return;
	f->resource = resource;
	f->target = target;
	f->path[0] = 0;
	if (path)
		bpf_probe_read_user_str(f->path, sizeof(f->path), path);
	bpf_map_update_elem(&inflight, &pid_tgid, f, BPF_ANY);
}

static __always_inline struct task_struct *task_of_pid(struct pid *pid)
{
	struct hlist_node *first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);

	if (!first)
		return NULL;
	return (struct task_struct *)((void *)first - bpf_core_field_offset(struct task_struct, pid_links));
}

static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(cur, files, fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || !fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 finish_event(struct x00_access_event *e, __u32 target_pid, long ret)
{
	if (!e)
		return 0;
	if (!e->target_pid)
		e->target_pid = e->target_tid = target_pid;
	e->result = ret < 0 ? (__s32)ret : 0;
	e->hook = X00_HOOK_SYSCALL;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Parses "/proc/<n>/environ" and "/proc/<n>/mem" for failed opens, which leave no file to look at (refused
 * opens of the task/<t>/ variants are not recognised: a documented limit of the fallback). Returns the resource
 * or 0. */
static __always_inline __u32 parse_proc_path(const char *p, __u32 *pid)
{
	__u32 n = 0, i, res = 0;
	int start = 6, digits = 0;

	/* "/proc/" was checked at entry */
	for (i = 6; i < 18; i++) {
		char c = p[i];
		if (c < '0' || c > '9')
			break;
		n = n * 10 + (c - '0');
		digits++;
	}
	if (!digits || p[i & (PATH_LEN - 1)] != '/')
		return 0;
	*pid = n;
	start = i + 1;
	if (start > PATH_LEN - 9)
		return 0;
	if (p[start & (PATH_LEN - 1)] == 'e' && p[(start + 1) & (PATH_LEN - 1)] == 'n' &&
	    p[(start + 6) & (PATH_LEN - 1)] == 'n' && p[(start + 7) & (PATH_LEN - 1)] == 0)
		res = X00_RES_ENVIRON;
	else if (p[start & (PATH_LEN - 1)] == 'm' && p[(start + 1) & (PATH_LEN - 1)] == 'e' &&
		 p[(start + 2) & (PATH_LEN - 1)] == 'm' && p[(start + 3) & (PATH_LEN - 1)] == 0)
		res = X00_RES_MEM;
	return res;
}

static __always_inline int open_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct inflight *f = bpf_map_lookup_elem(&inflight, &pid_tgid);
	__u32 family = 0, resource = 0, target_pid = 0, len;
	struct task_struct *target = NULL;

	if (ret >= 0) {
		/* Look at what was really opened: path strings, symlinks and mounts do not matter. */
		struct file *file = fd_file(ret);
		struct inode *inode = BPF_CORE_READ(file, f_inode);
		const unsigned char *name;
		char buf[8] = {};

		if (f)
			bpf_map_delete_elem(&inflight, &pid_tgid);
		if (!inode || BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
			return 0;
		len = BPF_CORE_READ(file, f_path.dentry, d_name.len);
		if (len != 7 && len != 3)
			return 0;
		name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
		bpf_probe_read_kernel(buf, sizeof(buf), name);
		if (len == 7 && buf[0] == 'e' && buf[1] == 'n' && buf[2] == 'v' && buf[6] == 'n')
			resource = X00_RES_ENVIRON;
		else if (len == 3 && buf[0] == 'm' && buf[1] == 'e' && buf[2] == 'm')
			resource = X00_RES_MEM;
		else
			return 0;
		{
			struct proc_inode *pi = (struct proc_inode *)((void *)inode -
				bpf_core_field_offset(struct proc_inode, vfs_inode));
			target = task_of_pid(BPF_CORE_READ(pi, pid));
		}
		if (!target)
			return 0;
		target_pid = BPF_CORE_READ(target, tgid);
	} else {
		if (!f)
			return 0;
		if (ret == -EACCES || ret == -EPERM)
			resource = parse_proc_path(f->path, &target_pid);
		bpf_map_delete_elem(&inflight, &pid_tgid);
		if (!resource)
			return 0;
	}
	if (!reportable(target_pid, &family))
		return 0;
	return finish_event(emit_access(target, family, resource, 0, X00_HOOK_SYSCALL, false), target_pid, ret);
}

static __always_inline void open_enter(const char *path)
{
	char head[8] = {};

	/* Only failed opens need the path; keep it only for /proc/ paths. */
	if (bpf_probe_read_user(head, 6, path) < 0)
		return;
	if (head[0] == '/' && head[1] == 'p' && head[2] == 'r' && head[3] == 'o' && head[4] == 'c' && head[5] == '/')
		start(0, 0, path);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	open_enter((const char *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	open_enter((const char *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_open")
int enter_open(struct trace_event_raw_sys_enter *ctx)
{
	open_enter((const char *)ctx->args[0]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

static __always_inline int target_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct inflight *f = bpf_map_lookup_elem(&inflight, &pid_tgid);
	__u32 family = 0, resource, target;

	if (!f)
		return 0;
	resource = f->resource;
	target = f->target;
	bpf_map_delete_elem(&inflight, &pid_tgid);
	if (!resource || !reportable(target, &family))
		return 0;
	return finish_event(emit_access(NULL, family, resource, 0, X00_HOOK_SYSCALL, false), target, ret);
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int enter_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long request = ctx->args[0];

	if (request == PTRACE_ATTACH || request == PTRACE_SEIZE)
		start(X00_RES_PTRACE, (__u32)ctx->args[1], NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_ptrace")
int exit_ptrace(struct trace_event_raw_sys_exit *ctx)
{
	return target_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int enter_pvm_readv(struct trace_event_raw_sys_enter *ctx)
{
	start(X00_RES_PROCESS_VM_READV, (__u32)ctx->args[0], NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_process_vm_readv")
int exit_pvm_readv(struct trace_event_raw_sys_exit *ctx)
{
	return target_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int enter_pvm_writev(struct trace_event_raw_sys_enter *ctx)
{
	start(X00_RES_PROCESS_VM_WRITEV, (__u32)ctx->args[0], NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_process_vm_writev")
int exit_pvm_writev(struct trace_event_raw_sys_exit *ctx)
{
	return target_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int enter_pidfd_getfd(struct trace_event_raw_sys_enter *ctx)
{
	/* The target is the pid behind the pidfd: since Linux 6.9 (pidfs) the inode's i_private holds the struct
	 * pid; before, the file's private_data did. */
	struct file *file = fd_file((int)ctx->args[0]);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct pid *pid = BPF_CORE_READ(inode, i_sb, s_magic) == PID_FS_MAGIC
				  ? (struct pid *)BPF_CORE_READ(inode, i_private)
				  : (struct pid *)BPF_CORE_READ(file, private_data);
	struct task_struct *task = pid ? task_of_pid(pid) : NULL;

	start(X00_RES_PIDFD_GETFD, task ? BPF_CORE_READ(task, tgid) : 0, NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_pidfd_getfd")
int exit_pidfd_getfd(struct trace_event_raw_sys_exit *ctx)
{
	return target_exit(ctx->ret);
}
