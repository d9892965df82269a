// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* access_monitor: the observe-only fallback for kernels that refuse BPF-LSM programs (and have no kprobes).
 * One program on the raw sys_exit tracepoint, filtered by syscall number, sees opens of
 * /proc/P/environ and /proc/P/mem (by the file actually opened, so symlinks and other procfs mounts count),
 * ptrace attach/seize, process_vm_readv/writev and pidfd_getfd, with the result the caller got. It cannot deny
 * anything: enforcement needs lsm_file_protect.bpf.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "x00_protect.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EACCES 13
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define PATH_LEN 64
#define PID_FS_MAGIC 0x50494446

/* Syscall numbers, the saved registers that hold the number and the arguments, and the flag of a 32-bit syscall.
 * Architecture-specific: only x86-64 is built and tested. */
#if defined(__TARGET_ARCH_x86)
#define NR_open 2
#define NR_ptrace 101
#define NR_openat 257
#define NR_process_vm_readv 310
#define NR_process_vm_writev 311
#define NR_openat2 437
#define NR_pidfd_getfd 438
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#define SYSCALL_ARG1(regs) ((regs)->di)
#define SYSCALL_ARG2(regs) ((regs)->si)
#define TS_COMPAT 0x0002 /* thread_info.status: a 32-bit (ia32) syscall is running */
#else
#error "access_monitor: syscall numbers and registers for this architecture are not defined (x86-64 only)"
#endif

/* A native 64-bit syscall. The syscall tracepoints skip 32-bit (ia32) ones on x86-64
 * (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS), whose numbers mean other calls; x32 numbers carry __X32_SYSCALL_BIT and match
 * none of the numbers above. */
static __always_inline bool native_syscall(void)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();

	return !(BPF_CORE_READ(cur, thread_info.status) & TS_COMPAT);
}

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

/* The end of an open, open or openat2 whose path argument is `path`. */
static __always_inline int open_exit(const char *path, long ret)
{
	__u32 family = 0, resource = 0, target_pid = 0, len;
	struct task_struct *target = NULL;

	if (ret >= 0) {
		/* Look at what was really opened: path strings, symlinks and mounts do not matter. */
		struct file *file = fd_file(ret);
		struct inode *inode = BPF_CORE_READ(file, f_inode);
		const unsigned char *name;
		char buf[8] = {};

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
		/* A refused open left no file: only the path argument (still in the caller's memory) says what. */
		char p[PATH_LEN] = {};

		if (ret != -EACCES && ret != -EPERM)
			return 0;
		if (bpf_probe_read_user_str(p, sizeof(p), path) < 6)
			return 0;
		if (p[0] != '/' || p[1] != 'p' || p[2] != 'r' || p[3] != 'o' || p[4] != 'c' || p[5] != '/')
			return 0;
		resource = parse_proc_path(p, &target_pid);
		if (!resource)
			return 0;
	}
	if (!reportable(target_pid, &family))
		return 0;
	return finish_event(emit_access(target, family, resource, 0, X00_HOOK_SYSCALL, false), target_pid, ret);
}

/* The end of a call on another process (ptrace attach or seize, process_vm_readv/writev, pidfd_getfd) with
 * `target`, the tgid its arguments name (0: none found). */
static __always_inline int target_exit(__u32 resource, __u32 target, long ret)
{
	__u32 family = 0;

	if (!reportable(target, &family))
		return 0;
	return finish_event(emit_access(NULL, family, resource, 0, X00_HOOK_SYSCALL, false), target, ret);
}

/* The target of pidfd_getfd is the pid behind the pidfd: since Linux 6.9 (pidfs) the inode's i_private holds the
 * struct pid; before, the file's private_data did. */
static __always_inline __u32 pidfd_target(int pidfd)
{
	struct file *file = fd_file(pidfd);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	struct pid *pid = BPF_CORE_READ(inode, i_sb, s_magic) == PID_FS_MAGIC
				  ? (struct pid *)BPF_CORE_READ(inode, i_private)
				  : (struct pid *)BPF_CORE_READ(file, private_data);
	struct task_struct *task = pid ? task_of_pid(pid) : NULL;

	return task ? BPF_CORE_READ(task, tgid) : 0;
}

/* One program on the raw sys_exit tracepoint, filtering by syscall number, sees what the per-syscall tracepoints
 * (tracepoint/syscalls/sys_exit_*, which the kernel implements on this same tracepoint) saw: the number, the
 * arguments (the saved registers, which these calls leave as they were) and the result. Everything is read at the
 * exit, so nothing runs at the entry of any syscall, and the program detaches without perf's serialized RCU grace
 * periods (bench/RESULTS_run.md). */
SEC("tp_btf/sys_exit")
int BPF_PROG(syscall_exit, struct pt_regs *regs, long ret)
{
	switch (SYSCALL_NR(regs)) {
	case NR_openat:
	case NR_openat2:
		if (!native_syscall())
			return 0;
		return open_exit((const char *)SYSCALL_ARG2(regs), ret);
	case NR_open:
		if (!native_syscall())
			return 0;
		return open_exit((const char *)SYSCALL_ARG1(regs), ret);
	case NR_ptrace: {
		long request = SYSCALL_ARG1(regs);

		if ((request != PTRACE_ATTACH && request != PTRACE_SEIZE) || !native_syscall())
			return 0;
		return target_exit(X00_RES_PTRACE, (__u32)SYSCALL_ARG2(regs), ret);
	}
	case NR_process_vm_readv:
		if (!native_syscall())
			return 0;
		return target_exit(X00_RES_PROCESS_VM_READV, (__u32)SYSCALL_ARG1(regs), ret);
	case NR_process_vm_writev:
		if (!native_syscall())
			return 0;
		return target_exit(X00_RES_PROCESS_VM_WRITEV, (__u32)SYSCALL_ARG1(regs), ret);
	case NR_pidfd_getfd:
		if (!native_syscall())
			return 0;
		return target_exit(X00_RES_PIDFD_GETFD, pidfd_target((int)SYSCALL_ARG1(regs)), ret);
	}
	return 0;
}
