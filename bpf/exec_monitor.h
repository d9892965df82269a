/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Exec events shared by exec_monitor.bpf.c and src/events/exec_event.ts (the decoder mirrors this layout). */
#ifndef __X00_EXEC_MONITOR_H
#define __X00_EXEC_MONITOR_H

#define X00_TASK_COMM_LEN 16
#define X00_FILENAME_LEN 256
#define X00_ARGS_LEN 512

enum x00_proc_event_kind {
	X00_PROC_EXEC = 1,
	X00_PROC_FORK = 2,
	X00_PROC_EXIT = 3,
};

/* One record of the exec monitor's ring buffer. Size: 840 bytes. */
struct x00_exec_event {
	__u64 ts_ns;          /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;      /* cgroup v2 id of the task */
	__u32 kind;           /* enum x00_proc_event_kind */
	__u32 pid;            /* tgid */
	__u32 tid;
	__u32 ppid;           /* tgid of the real parent */
	__u32 uid;
	__u32 gid;
	__u32 args_len;       /* bytes used in args (NUL-separated argv) */
	__u32 args_truncated; /* 1 when argv was longer than X00_ARGS_LEN */
	__s32 exit_code;      /* exit events: raw exit_code (status << 8 | signal) */
	__u32 child_pid;      /* fork events: the new tgid */
	char comm[X00_TASK_COMM_LEN];
	char filename[X00_FILENAME_LEN];
	char args[X00_ARGS_LEN];
};

#endif /* __X00_EXEC_MONITOR_H */
