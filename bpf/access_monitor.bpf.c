// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* access_monitor: the observe-only fallback for kernels that refuse BPF-LSM programs. Kprobes on the same LSM
 * entry points (security_ptrace_access_check, security_file_open) run the same logic as lsm_file_protect.bpf.c
 * but cannot deny: `enforce` must stay false. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "x00_protect.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("kprobe/security_ptrace_access_check")
int BPF_KPROBE(kprobe_ptrace_access_check, struct task_struct *child, unsigned int mode)
{
	check_ptrace_access(child, mode);
	return 0;
}

SEC("kprobe/security_file_open")
int BPF_KPROBE(kprobe_file_open, struct file *file)
{
	check_file_open(file);
	return 0;
}
