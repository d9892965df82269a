// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* lsm_file_protect: BPF-LSM enforcement. Keyed on the target task (tgid) and on memfd inodes, never on path
 * strings, so a second procfs mount, symlinks, task/TID variants and io_uring meet the same checks. In audit mode
 * (`enforce` false) the same hooks only report. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "x00_protect.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What the access check the current thread is about to make is for: set on entry of the procfs function that
 * makes it (environ_open, mem_open, proc_pid_get_link), removed on its exit. Only those functions pay for it:
 * no program runs on the other opens of the machine. */
struct x00_pending {
	__u32 resource; /* enum x00_resource */
	__u32 family;   /* X00_RES_SECRET_FILE: the family the secret memfd belongs to */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct x00_pending);
} pending SEC(".maps");

/* X00's own programs, maps and links (this object's, once loaded and attached), filled by X00 before it fetches any
 * secret. No other process may get a file descriptor of one of them: with one, root could delete the workload's
 * protection entry, run register_self to join its family, or read the event stream. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct x00_object_key);
	__type(value, __u32); /* X00's family */
} own_objects SEC(".maps");

/* What another process may load while X00 runs (enum x00_foreign_bpf). */
const volatile __u32 foreign_bpf = X00_FOREIGN_BPF_LOG;

/* Identities whose BPF loads are never refused (reported all the same): kernel uids and cgroup v2 ids, filled by
 * X00 from the policy before it protects anything. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} bpf_allowed_uids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u8);
} bpf_allowed_cgroups SEC(".maps");

/* Listening sockets of `x00 agent` by socket inode -> the agent's family. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);
	__type(value, __u32);
} agent_sockets SEC(".maps");

/* The connecting process of each accepted agent connection, on the agent's end of it. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct x00_client_identity);
} client_identity SEC(".maps");

#define AF_INET 2
#define AF_INET6 10
#define BPF_F_SLEEPABLE (1U << 4)

/* Syscall numbers of the calls whose access check must be told apart (the pending label covers opens), and the
 * saved register that holds the number. Architecture-specific: only x86-64 is built and tested. */
#if defined(__TARGET_ARCH_x86)
#define NR_ptrace 101
#define NR_process_vm_readv 310
#define NR_process_vm_writev 311
#define NR_pidfd_getfd 438
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#else
#error "lsm_file_protect: syscall numbers and register for this architecture are not defined (x86-64 only)"
#endif

/* The resource of an access check that no file open labelled, from the current syscall number. Read from the
 * task's saved registers: no syscall tracepoint is needed (attaching one would send every syscall on the machine
 * through the tracing slow path). */
static __always_inline __u32 syscall_resource(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	switch (SYSCALL_NR(regs)) {
	case NR_ptrace:
		return X00_RES_PTRACE;
	case NR_process_vm_readv:
		return X00_RES_PROCESS_VM_READV;
	case NR_process_vm_writev:
		return X00_RES_PROCESS_VM_WRITEV;
	case NR_pidfd_getfd:
		return X00_RES_PIDFD_GETFD;
	default:
		return X00_RES_OTHER_ATTACH;
	}
}

/* The decisive check: every cross-process read of memory or environment, ptrace attach, process_vm_readv and
 * pidfd_getfd goes through __ptrace_may_access, which skips this hook for the caller's own thread group; so does
 * following a /proc/P/fd/N or map_files link, the only way to open another process's memfd anew.
 * Returns -EPERM to deny. */
static __always_inline int check_ptrace_access(struct task_struct *child, unsigned int mode)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct x00_protection *prot, *mine;
	struct x00_pending *label, seen = {};
	__u32 tgid, self, family = 0, resource;
	bool denied = false;

	if (mode & PTRACE_MODE_NOAUDIT)
		return 0;
	label = bpf_map_lookup_elem(&pending, &pid_tgid);
	if (label) {
		seen = *label;
		bpf_map_delete_elem(&pending, &pid_tgid);
	}
	if (label && seen.resource == X00_RES_SECRET_FILE) {
		/* A secret memfd belongs to its family, whoever holds it: only that family may open it anew. */
		self = pid_tgid >> 32;
		mine = bpf_map_lookup_elem(&protected, &self);
		if (mine && mine->family == seen.family)
			return 0;
		submit(emit_access(child, seen.family, X00_RES_SECRET_FILE, mode, X00_HOOK_PTRACE_ACCESS_CHECK,
				   enforce));
		return lsm_verdict(enforce);
	}
	resource = seen.resource;
	if (mode & PTRACE_MODE_REALCREDS) {
		/* ptrace, process_vm_readv/writev, pidfd_getfd: never a procfs open (those use FSCREDS), so a label
		 * left by an earlier open of the thread's own /proc files cannot name it. */
		resource = syscall_resource();
	} else if (!label) {
		if (!(mode & PTRACE_MODE_ATTACH))
			return 0; /* plain reads of /proc/P/stat, maps, fd links: not an environment or memory read */
		resource = X00_RES_OTHER_ATTACH;
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
	submit(emit_access(child, family, resource, mode, X00_HOOK_PTRACE_ACCESS_CHECK, denied));
	return lsm_verdict(denied);
}

static __always_inline void label(__u32 resource, __u32 family)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct x00_pending p = { .resource = resource, .family = family };

	bpf_map_update_elem(&pending, &pid_tgid, &p, BPF_ANY);
}

static __always_inline void unlabel(void)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&pending, &pid_tgid);
}

/* /proc/P/environ and /proc/P/task/T/environ: __mem_open(PTRACE_MODE_READ) checks access next. */
SEC("fentry/environ_open")
int BPF_PROG(label_environ, struct inode *inode, struct file *file)
{
	label(X00_RES_ENVIRON, 0);
	return 0;
}

SEC("fexit/environ_open")
int BPF_PROG(unlabel_environ, struct inode *inode, struct file *file, int ret)
{
	unlabel();
	return 0;
}

/* /proc/P/mem and /proc/P/task/T/mem: __mem_open(PTRACE_MODE_ATTACH). */
SEC("fentry/mem_open")
int BPF_PROG(label_mem, struct inode *inode, struct file *file)
{
	label(X00_RES_MEM, 0);
	return 0;
}

SEC("fexit/mem_open")
int BPF_PROG(unlabel_mem, struct inode *inode, struct file *file, int ret)
{
	unlabel();
	return 0;
}

static __always_inline bool parent_is(struct dentry *dentry, const char *want, __u32 len)
{
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	const unsigned char *name = BPF_CORE_READ(parent, d_name.name);
	char buf[16] = {};
	__u32 i;

	if (BPF_CORE_READ(parent, d_name.len) != len || len >= sizeof(buf))
		return false;
	if (bpf_probe_read_kernel(buf, len & (sizeof(buf) - 1), name) < 0)
		return false;
	for (i = 0; i < sizeof(buf) && i < len; i++) {
		if (buf[i] != want[i])
			return false;
	}
	return true;
}

/* The task a /proc/P/... inode is about (pid_task(PIDTYPE_PID)). */
static __always_inline struct task_struct *proc_task(struct inode *inode)
{
	struct proc_inode *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	struct pid *pid = BPF_CORE_READ(pi, pid);
	struct hlist_node *first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);

	if (!first)
		return NULL;
	return (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
}

/* The file behind descriptor `fd` of `task`, or NULL. */
static __always_inline struct file *task_file(struct task_struct *task, __u32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **files, *file = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	files = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &files[fd]) < 0)
		return NULL;
	return file;
}

/* A map_files link of a protected process: labelled with the process's family (which mapping it names is not known
 * here, so every map_files link of a protected process is refused to outsiders). */
static __always_inline void label_protected_task(struct inode *inode)
{
	struct task_struct *task = proc_task(inode);
	struct x00_protection *prot;
	__u32 tgid;

	if (!task)
		return;
	tgid = BPF_CORE_READ(task, tgid);
	prot = bpf_map_lookup_elem(&protected, &tgid);
	if (prot)
		label(X00_RES_SECRET_FILE, prot->family);
}

/* Following /proc/P/fd/N (or /proc/P/task/T/fd/N) or /proc/P/map_files/RANGE: proc_fd_access_allowed checks
 * access next, then the link is followed and the file may be opened. A descriptor of a secret memfd is labelled
 * with its family; a map_files entry of a protected process with the process's family (which mapping it names is
 * not known here, so every map_files link of a protected process is refused to outsiders). */
SEC("fentry/proc_pid_get_link")
int BPF_PROG(label_proc_link, struct dentry *dentry, struct inode *inode, struct delayed_call *done)
{
	struct x00_inode_key key = {};
	struct task_struct *task;
	struct inode *target;
	struct file *file;
	__u32 *family;

	if (!dentry)
		return 0; /* RCU walk: the kernel calls again with a dentry */
	if (parent_is(dentry, "fd", 2)) {
		struct proc_inode *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);

		task = proc_task(inode);
		if (!task)
			return 0;
		file = task_file(task, BPF_CORE_READ(pi, fd));
		if (!file)
			return 0;
		target = BPF_CORE_READ(file, f_inode);
		key.ino = BPF_CORE_READ(target, i_ino);
		key.dev = BPF_CORE_READ(target, i_sb, s_dev);
		family = bpf_map_lookup_elem(&secret_inodes, &key);
		if (family)
			label(X00_RES_SECRET_FILE, *family);
	} else if (parent_is(dentry, "map_files", 9)) {
		label_protected_task(inode);
	}
	return 0;
}

/* /proc/P/map_files/RANGE: its get_link checks CAP_CHECKPOINT_RESTORE, then does what proc_pid_get_link does (the
 * compiler may inline that copy, so it is traced on its own). */
SEC("fentry/proc_map_files_get_link")
int BPF_PROG(label_map_files_link, struct dentry *dentry, struct inode *inode, struct delayed_call *done)
{
	if (dentry)
		label_protected_task(inode);
	return 0;
}

SEC("fexit/proc_map_files_get_link")
int BPF_PROG(unlabel_map_files_link, struct dentry *dentry, struct inode *inode, struct delayed_call *done,
	     const char *ret)
{
	unlabel();
	return 0;
}

SEC("fexit/proc_pid_get_link")
int BPF_PROG(unlabel_proc_link, struct dentry *dentry, struct inode *inode, struct delayed_call *done,
	     const char *ret)
{
	unlabel();
	return 0;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret)
		return lsm_prior(ret);
	return check_ptrace_access(child, mode);
}

/* PTRACE_TRACEME by a protected process would hand it to its parent: refuse unless the parent is family. */
SEC("lsm/ptrace_traceme")
int BPF_PROG(ptrace_traceme, struct task_struct *parent, int ret)
{
	__u32 self = bpf_get_current_pid_tgid() >> 32;
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	struct x00_protection *mine, *theirs;

	if (ret)
		return lsm_prior(ret);
	mine = bpf_map_lookup_elem(&protected, &self);
	if (!mine)
		return 0;
	theirs = bpf_map_lookup_elem(&protected, &ptgid);
	if (theirs && theirs->family == mine->family)
		return 0;
	submit(emit_access(parent, mine->family, X00_RES_PTRACE_TRACEME, 0, X00_HOOK_PTRACE_TRACEME,
			   enforce && block_ptrace));
	return lsm_verdict(enforce && block_ptrace);
}

/* Program types that run in the context of tasks of the attacher's choosing (a probe, a tracepoint, an iterator
 * over every task, an LSM hook, a replaced program) and can read those tasks' user memory from there
 * (bpf_probe_read_user, bpf_copy_from_user_task). */
static __always_inline bool runs_in_other_tasks(__u32 type)
{
	switch (type) {
	case BPF_PROG_TYPE_KPROBE:
	case BPF_PROG_TYPE_TRACEPOINT:
	case BPF_PROG_TYPE_PERF_EVENT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
	case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
	case BPF_PROG_TYPE_TRACING:
	case BPF_PROG_TYPE_STRUCT_OPS:
	case BPF_PROG_TYPE_EXT:
	case BPF_PROG_TYPE_LSM:
	case BPF_PROG_TYPE_SYSCALL:
		return true;
	default:
		return false;
	}
}

/* BPF_PROG_LOAD by anyone but X00's supervisor: always reported, refused in enforce mode when the policy says so
 * for this kind of program and the loader is not on the allow-list. */
static __always_inline int check_prog_load(union bpf_attr *attr)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 self = pid_tgid >> 32, uid = (__u32)bpf_get_current_uid_gid();
	__u64 cgroup = bpf_get_current_cgroup_id();
	struct x00_protection *mine;
	struct x00_access_event *e;
	__u32 type, flags;
	bool refuse;

	if (self == filter_accessor_pid)
		return 0;
	mine = bpf_map_lookup_elem(&protected, &self);
	if (mine && (mine->flags & X00_PROT_SUPERVISOR))
		return 0;
	type = BPF_CORE_READ(attr, prog_type);
	flags = BPF_CORE_READ(attr, prog_flags);
	refuse = foreign_bpf == X00_FOREIGN_BPF_REFUSE_ALL ||
		 (foreign_bpf == X00_FOREIGN_BPF_REFUSE_TRACING && runs_in_other_tasks(type));
	if (refuse && (bpf_map_lookup_elem(&bpf_allowed_uids, &uid) ||
		       bpf_map_lookup_elem(&bpf_allowed_cgroups, &cgroup)))
		refuse = false;
	refuse = refuse && enforce;
	e = emit_access(NULL, mine ? mine->family : 0, X00_RES_BPF_LOAD, 0, X00_HOOK_BPF, refuse);
	if (e) {
		e->target_tid = type;
		e->ptrace_mode = BPF_CORE_READ(attr, expected_attach_type);
		e->target_uid = flags;
		bpf_probe_read_kernel_str(&e->target_comm, sizeof(e->target_comm), attr->prog_name);
	}
	submit(e);
	return lsm_verdict(refuse);
}

/* The bpf(2) commands that turn an id into a file descriptor. Everything else done to a BPF object needs such a
 * descriptor (or a pin, and X00 pins nothing); X00's own descriptors are guarded by ptrace_access_check (X00 is
 * protected as the supervisor), so refusing these is enough to keep other processes away from X00's objects.
 * The previous programs' verdict (`ret`) is not read: its position in the context moved when the hook gained
 * an argument, and a program only runs when every earlier one returned 0. */
SEC("lsm/bpf")
int BPF_PROG(bpf_cmd, int cmd, union bpf_attr *attr, unsigned int size)
{
	struct x00_object_key key = {};
	struct x00_protection *mine;
	struct x00_access_event *e;
	__u32 *family, self, resource;

	switch (cmd) {
	case BPF_PROG_GET_FD_BY_ID:
		key.kind = X00_OBJ_PROG;
		resource = X00_RES_BPF_PROG;
		break;
	case BPF_MAP_GET_FD_BY_ID:
		key.kind = X00_OBJ_MAP;
		resource = X00_RES_BPF_MAP;
		break;
	case BPF_LINK_GET_FD_BY_ID:
		key.kind = X00_OBJ_LINK;
		resource = X00_RES_BPF_LINK;
		break;
	case BPF_PROG_LOAD:
		return check_prog_load(attr);
	default:
		return 0;
	}
	key.id = BPF_CORE_READ(attr, prog_id); /* prog_id, map_id and link_id share one place */
	family = bpf_map_lookup_elem(&own_objects, &key);
	if (!family)
		return 0;
	self = bpf_get_current_pid_tgid() >> 32;
	mine = bpf_map_lookup_elem(&protected, &self);
	if (mine && (mine->flags & X00_PROT_SUPERVISOR) && mine->family == *family)
		return 0;
	e = emit_access(NULL, *family, resource, 0, X00_HOOK_BPF, enforce);
	if (e)
		e->target_tid = key.id; /* no target task: the object's id */
	submit(e);
	return lsm_verdict(enforce);
}

/* Kernel backstop for "X00 never listens": X00's supervisor may not listen on an IPv4 or IPv6 socket (a debugger
 * port, whatever opened it). Outgoing connections (Vault) and Unix sockets are untouched. */
SEC("lsm/socket_listen")
int BPF_PROG(socket_listen, struct socket *sock, int backlog, int ret)
{
	__u32 self = bpf_get_current_pid_tgid() >> 32;
	struct x00_protection *mine;
	struct x00_access_event *e;
	__u16 family;

	if (ret)
		return lsm_prior(ret);
	mine = bpf_map_lookup_elem(&protected, &self);
	if (!mine || !(mine->flags & X00_PROT_SUPERVISOR))
		return 0;
	family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	e = emit_access(NULL, mine->family, X00_RES_NET_LISTEN, 0, X00_HOOK_SOCKET_LISTEN, enforce);
	if (e)
		e->target_tid = family;
	submit(e);
	return lsm_verdict(enforce);
}

/* A process connects to an `x00 agent` socket: record who it is, as the kernel knows it, on the agent's end of the
 * connection (the agent reads it with the accepted descriptor), and protect it right now, before the agent sends
 * anything. A process that is already protected keeps its family. The agent removes the protection of a client it
 * refuses. */
SEC("lsm/unix_stream_connect")
int BPF_PROG(unix_connect, struct sock *sock, struct sock *other, struct sock *newsk, int ret)
{
	struct x00_client_identity *id;
	struct x00_protection prot = {}, *mine;
	__u64 ino, uid_gid;
	__u32 tgid, *agent;

	if (ret)
		return lsm_prior(ret);
	ino = BPF_CORE_READ(other, sk_socket, file, f_inode, i_ino);
	agent = bpf_map_lookup_elem(&agent_sockets, &ino);
	if (!agent)
		return 0;
	id = bpf_sk_storage_get(&client_identity, newsk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!id)
		return 0; /* no identity: the agent refuses the connection */
	tgid = bpf_get_current_pid_tgid() >> 32;
	uid_gid = bpf_get_current_uid_gid();
	mine = bpf_map_lookup_elem(&protected, &tgid);
	if (mine) {
		prot.family = mine->family;
	} else {
		prot.family = tgid; /* a family of its own, distinct from the agent's */
		bpf_map_update_elem(&protected, &tgid, &prot, BPF_NOEXIST);
	}
	id->cgroup_id = bpf_get_current_cgroup_id();
	id->tgid = tgid;
	id->uid = (__u32)uid_gid;
	id->gid = uid_gid >> 32;
	id->family = prot.family;
	return 0;
}
