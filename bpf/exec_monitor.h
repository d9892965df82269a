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

/* One record of the exec monitor's ring buffer, of variable size: the 80-byte header (X00_EXEC_HEADER_LEN), then,
 * for an exec only, `filename_len` bytes of filename (no NUL) followed by `args_len` bytes of NUL-separated argv.
 * A fork or exit record is the header alone; an exec record is at most 80 + 255 + 512 bytes. The program fills
 * the whole struct in a per-CPU scratch slot and copies only the used bytes into the ring buffer, so the ring
 * holds 5-8 typical execs where it held one fixed-size record. */
struct x00_exec_event {
	__u64 ts_ns;          /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;      /* cgroup v2 id of the task */
	__u32 kind;           /* enum x00_proc_event_kind */
	__u32 pid;            /* tgid */
	__u32 tid;
	__u32 ppid;           /* tgid of the real parent */
	__u32 uid;
	__u32 gid;
	__u32 args_len;       /* exec: bytes of argv in data, after the filename */
	__u32 args_truncated; /* 1 when argv was longer than X00_ARGS_LEN */
	__s32 exit_code;      /* exit events: raw exit_code (status << 8 | signal) */
	__u32 child_pid;      /* fork events: the new tgid */
	char comm[X00_TASK_COMM_LEN];
	__u32 filename_len;   /* exec: bytes of filename at the start of data (< X00_FILENAME_LEN) */
	__u32 reserved;       /* 0 */
	char data[X00_FILENAME_LEN + X00_ARGS_LEN];
};

#define X00_EXEC_HEADER_LEN 80 /* offsetof(struct x00_exec_event, data) */

#endif /* __X00_EXEC_MONITOR_H */
