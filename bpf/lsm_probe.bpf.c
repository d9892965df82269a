// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* lsm_probe: the smallest BPF-LSM program, on a hook lsm_file_protect also uses (file_open). X00 loads it before
 * lsm_file_protect: a kernel that refuses it with EPERM refuses lsm_file_protect too, and X00 goes straight to the
 * fallback without paying for the full object's load (bench/RESULTS_run.md). It is never attached. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("lsm/file_open")
int BPF_PROG(lsm_probe, struct file *file)
{
	return 0;
}
