// SPDX-License-Identifier: Apache-2.0
/* attack: tries one cross-process access and prints one line: "OK <bytes as text>" or "ERR <errno name>".
 *   attack open PATH [OFFSET LEN]        open(2) + read (pread at OFFSET)
 *   attack pvm PID ADDR LEN              process_vm_readv
 *   attack pvw PID ADDR                  process_vm_writev (writes one byte it read first)
 *   attack seize PID | attach PID        ptrace(PTRACE_SEIZE / PTRACE_ATTACH), then detach
 *   attack getfd PID FD                  pidfd_open + pidfd_getfd, then read the fd
 *   attack handle PATH                   name_to_handle_at(PATH) + open_by_handle_at through a memfd of its own
 *                                        (same internal shmem mount as any memfd): a reopen by inode, no path.
 *                                        Without a handle, a forged one (inode of stat(PATH), generation 0):
 *                                        "NOHANDLE name=<errno> open=<errno>" when both fail
 *   attack traceme                       ptrace(PTRACE_TRACEME) then exec /bin/true (run as a protected child)
 *   attack bpfids prog|map|link          every id of that kind (BPF_*_GET_NEXT_ID), one line "IDS a b c"
 *   attack bpfid prog|map|link ID        BPF_*_GET_FD_BY_ID: "OK fd" or "ERR <errno name>"
 *   attack race MS PID...                reads /proc/PID/environ of each PID in a tight loop for MS ms; prints
 *                                        "OK <reads that returned data>" (0 is the only good answer) and the
 *                                        number of attempts
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int bpf_kind(const char *kind, int *next_cmd, int *fd_cmd)
{
	if (!strcmp(kind, "prog")) {
		*next_cmd = BPF_PROG_GET_NEXT_ID;
		*fd_cmd = BPF_PROG_GET_FD_BY_ID;
	} else if (!strcmp(kind, "map")) {
		*next_cmd = BPF_MAP_GET_NEXT_ID;
		*fd_cmd = BPF_MAP_GET_FD_BY_ID;
	} else if (!strcmp(kind, "link")) {
		*next_cmd = BPF_LINK_GET_NEXT_ID;
		*fd_cmd = BPF_LINK_GET_FD_BY_ID;
	} else {
		return -1;
	}
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(void)
{
	printf("ERR %s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "unknown");
	return 1;
}

static int ok(const char *buf, ssize_t n)
{
	printf("OK ");
	for (ssize_t i = 0; i < n; i++)
		putchar(buf[i] ? buf[i] : '\n');
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	char buf[4096];

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "open") && argc >= 3) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return fail();
		ssize_t n = argc >= 5 ? pread(fd, buf, atol(argv[4]), atol(argv[3])) : read(fd, buf, sizeof(buf));
		if (n < 0)
			return fail();
		return ok(buf, n);
	}
	if ((!strcmp(argv[1], "pvm") || !strcmp(argv[1], "pvw")) && argc >= 4) {
		pid_t pid = atoi(argv[2]);
		unsigned long addr = strtoul(argv[3], NULL, 10);
		size_t len = argc >= 5 ? (size_t)atol(argv[4]) : 1;
		struct iovec local = { buf, len }, remote = { (void *)addr, len };
		ssize_t n = !strcmp(argv[1], "pvm") ? process_vm_readv(pid, &local, 1, &remote, 1, 0)
						   : process_vm_writev(pid, &local, 1, &remote, 1, 0);
		if (n < 0)
			return fail();
		return ok(buf, n);
	}
	if ((!strcmp(argv[1], "seize") || !strcmp(argv[1], "attach")) && argc >= 3) {
		pid_t pid = atoi(argv[2]);
		long r = !strcmp(argv[1], "seize") ? ptrace(PTRACE_SEIZE, pid, 0, 0) : ptrace(PTRACE_ATTACH, pid, 0, 0);
		if (r < 0)
			return fail();
		if (!strcmp(argv[1], "attach"))
			waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return ok("attached", 8);
	}
	if (!strcmp(argv[1], "getfd") && argc >= 4) {
		int pidfd = syscall(SYS_pidfd_open, atoi(argv[2]), 0);
		if (pidfd < 0)
			return fail();
		int fd = syscall(SYS_pidfd_getfd, pidfd, atoi(argv[3]), 0);
		if (fd < 0)
			return fail();
		ssize_t n = pread(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return fail();
		return ok(buf, n);
	}
	if (!strcmp(argv[1], "handle") && argc >= 3) {
		union {
			struct file_handle fh;
			char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
		} h;
		int mount_id, own, fd;

		alarm(10);
		own = memfd_create("attacker", MFD_CLOEXEC);
		if (own < 0)
			return fail();
		h.fh.handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, argv[2], &h.fh, &mount_id, 0) < 0) {
			int name_errno = errno;
			struct stat st;

			if (name_errno != EOPNOTSUPP)
				return fail();
			/* No handle to be had: forge one as shmem encodes them (FILEID_INO32_GEN: inode, generation). */
			if (stat(argv[2], &st) < 0)
				return fail();
			h.fh.handle_type = 1;
			h.fh.handle_bytes = 8;
			((unsigned int *)h.fh.f_handle)[0] = (unsigned int)st.st_ino;
			((unsigned int *)h.fh.f_handle)[1] = 0;
			fd = open_by_handle_at(own, &h.fh, O_RDONLY);
			if (fd < 0) {
				printf("NOHANDLE name=%s open=%s\n", strerrorname_np(name_errno), strerrorname_np(errno));
				return 1;
			}
		} else {
			fd = open_by_handle_at(own, &h.fh, O_RDONLY);
		}
		if (fd < 0)
			return fail();
		ssize_t n = pread(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return fail();
		return ok(buf, n);
	}
	if (!strcmp(argv[1], "bpfids") && argc >= 3) {
		int next_cmd, fd_cmd;
		union bpf_attr attr;
		__u32 id = 0;

		if (bpf_kind(argv[2], &next_cmd, &fd_cmd))
			return 2;
		printf("IDS");
		for (;;) {
			memset(&attr, 0, sizeof(attr));
			attr.start_id = id;
			if (sys_bpf(next_cmd, &attr))
				break;
			id = attr.next_id;
			printf(" %u", id);
		}
		printf("\n");
		return 0;
	}
	if (!strcmp(argv[1], "bpfid") && argc >= 4) {
		int next_cmd, fd_cmd;
		union bpf_attr attr;
		long fd;

		if (bpf_kind(argv[2], &next_cmd, &fd_cmd))
			return 2;
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = (__u32)atoi(argv[3]); /* prog_id, map_id and link_id share one place */
		fd = sys_bpf(fd_cmd, &attr);
		if (fd < 0)
			return fail();
		printf("OK fd %ld\n", fd);
		return 0;
	}
	if (!strcmp(argv[1], "race") && argc >= 4) {
		long end = now_ms() + atol(argv[2]), reads = 0, attempts = 0;
		char path[64];

		while (now_ms() < end) {
			for (int i = 3; i < argc; i++) {
				snprintf(path, sizeof(path), "/proc/%s/environ", argv[i]);
				int fd = open(path, O_RDONLY);
				attempts++;
				if (fd < 0)
					continue;
				if (read(fd, buf, sizeof(buf)) > 0)
					reads++;
				close(fd);
			}
		}
		printf("OK %ld reads in %ld attempts\n", reads, attempts);
		return 0;
	}
	if (!strcmp(argv[1], "traceme")) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			return fail();
		return ok("traced", 6);
	}
	return 2;
}
