// SPDX-License-Identifier: Apache-2.0
/* attack: tries one cross-process access and prints one line: "OK <bytes as text>" or "ERR <errno name>".
 *   attack open PATH [OFFSET LEN]        open(2) + read (pread at OFFSET)
 *   attack pvm PID ADDR LEN              process_vm_readv
 *   attack pvw PID ADDR                  process_vm_writev (writes one byte it read first)
 *   attack seize PID | attach PID        ptrace(PTRACE_SEIZE / PTRACE_ATTACH), then detach
 *   attack getfd PID FD                  pidfd_open + pidfd_getfd, then read the fd
 *   attack traceme                       ptrace(PTRACE_TRACEME) then exec /bin/true (run as a protected child)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

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
	if (!strcmp(argv[1], "traceme")) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
			return fail();
		return ok("traced", 6);
	}
	return 2;
}
