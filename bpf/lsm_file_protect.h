/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Access events and protection records shared by lsm_file_protect.bpf.c, access_monitor.bpf.c and
 * src/events/access_event.ts (the decoder mirrors this layout). */
#ifndef __X00_LSM_FILE_PROTECT_H
#define __X00_LSM_FILE_PROTECT_H

#define X00_TASK_COMM_LEN 16
#define X00_EXE_LEN 64

/* What was accessed. */
enum x00_resource {
	X00_RES_OTHER_ATTACH = 0,     /* another attach-mode access (e.g. perf_event_open) */
	X00_RES_ENVIRON = 1,          /* /proc/P/environ, /proc/P/task/T/environ */
	X00_RES_MEM = 2,              /* /proc/P/mem, /proc/P/task/T/mem */
	X00_RES_PTRACE = 3,           /* ptrace(PTRACE_ATTACH/SEIZE) */
	X00_RES_PROCESS_VM_READV = 4,
	X00_RES_PROCESS_VM_WRITEV = 5,
	X00_RES_PIDFD_GETFD = 6,
	X00_RES_SECRET_FILE = 7,      /* a fresh open of a protected memfd (/proc/P/fd/N, map_files) */
	X00_RES_PTRACE_TRACEME = 8,   /* a protected task asked to be traced by an outsider */
	X00_RES_BPF_PROG = 9,         /* a file descriptor of one of X00's own programs (by id) */
	X00_RES_BPF_MAP = 10,         /* ... of one of X00's own maps */
	X00_RES_BPF_LINK = 11,        /* ... of one of X00's own links */
	X00_RES_BPF_LOAD = 12,        /* another process loaded a BPF program (BPF_PROG_LOAD) */
	X00_RES_NET_LISTEN = 13,      /* X00's own process tried to listen on a network socket */
};

/* Which hook saw it. */
enum x00_hook {
	X00_HOOK_PTRACE_ACCESS_CHECK = 1,
	X00_HOOK_FILE_OPEN = 2,
	X00_HOOK_PTRACE_TRACEME = 3,
	X00_HOOK_SYSCALL = 4,          /* access_monitor.bpf.c: syscall tracepoints (observe only) */
	X00_HOOK_BPF = 5,              /* lsm/bpf: the bpf(2) command */
	X00_HOOK_SOCKET_LISTEN = 6,    /* lsm/socket_listen */
};

/* Kinds of BPF object in the `own_objects` map. */
enum x00_object_kind {
	X00_OBJ_PROG = 1,
	X00_OBJ_MAP = 2,
	X00_OBJ_LINK = 3,
};

/* Key of the `own_objects` map: one of X00's programs, maps or links. The value is X00's family. */
struct x00_object_key {
	__u32 kind; /* enum x00_object_kind */
	__u32 id;   /* the kernel's id of the object */
};

/* What other processes may load while X00 runs (`policy.foreign_bpf`). Every load is reported. */
enum x00_foreign_bpf {
	X00_FOREIGN_BPF_LOG = 0,            /* nothing refused */
	X00_FOREIGN_BPF_REFUSE_TRACING = 1, /* enforce: refuse program types that run in other tasks' context */
	X00_FOREIGN_BPF_REFUSE_ALL = 2,     /* enforce: refuse every load */
};

/* Flags of a protected process. */
#define X00_PROT_SUPERVISOR 1 /* the X00 process itself: no one, not even its family, may access it */

/* Value of the `protected` map, keyed by tgid. */
struct x00_protection {
	__u32 family; /* processes of one family may access each other (a workload and its children) */
	__u32 flags;  /* X00_PROT_* */
};

/* Key of the `secret_inodes` map: a protected memfd. */
struct x00_inode_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* What the kernel saw of the process that connected to an `x00 agent` socket (sk storage of the agent's end of the
 * connection, read by the agent with the accepted descriptor as key). The client is protected from that moment:
 * `family` is its protection family. */
struct x00_client_identity {
	__u64 cgroup_id; /* cgroup v2 id */
	__u32 tgid;      /* in the initial pid namespace */
	__u32 uid;       /* real uid */
	__u32 gid;       /* real gid */
	__u32 family;
};

/* Argument block of the `register_self` program, passed through BPF_PROG_TEST_RUN. */
struct x00_register_args {
	__u32 family;
	__u32 flags;
};

/* One record of the access ring buffer. Size: 168 bytes. Records without a target task reuse target fields:
 *   bpf_prog|bpf_map|bpf_link: target_tid = the object's id;
 *   bpf_load: target_tid = prog_type, ptrace_mode = expected_attach_type, target_uid = prog_flags,
 *             target_comm = the program's name;
 *   net_listen: target_tid = the address family. */
struct x00_access_event {
	__u64 ts_ns;            /* bpf_ktime_get_boot_ns() */
	__u64 accessor_cgroup_id;
	__u64 target_cgroup_id;
	__u32 accessor_pid;     /* tgid */
	__u32 accessor_tid;
	__u32 accessor_uid;
	__u32 target_pid;       /* tgid */
	__u32 target_tid;
	__u32 target_uid;
	__u32 resource;         /* enum x00_resource */
	__u32 ptrace_mode;      /* PTRACE_MODE_* bits as the kernel passed them */
	__u32 hook;             /* enum x00_hook */
	__u32 denied;           /* 1 when X00 refused the access */
	__u32 family;           /* protection family of the target; 0 when unprotected (audit-all) */
	__s32 result;           /* 0 or -errno: what the caller got (LSM: X00's decision; tracepoints: the syscall) */
	char accessor_comm[X00_TASK_COMM_LEN];
	char target_comm[X00_TASK_COMM_LEN];
	char accessor_exe[X00_EXE_LEN]; /* basename of the accessor's executable */
};

#endif /* __X00_LSM_FILE_PROTECT_H */
