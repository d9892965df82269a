import assert from "node:assert/strict";
import { parseVerifierLog } from "../../ffi/libbpf.ts";

/** The end of what libbpf logged when Linux 6.12 rejected X00's first LSM object (see issue 13). */
const LOG_612 = `libbpf: prog 'ptrace_access_check': BPF program load failed: Invalid argument
libbpf: prog 'ptrace_access_check': -- BEGIN PROG LOAD LOG --
0: R1=ctx() R10=fp0
; int BPF_PROG(ptrace_access_check, struct task_struct *child, unsigned int mode, int ret) @ lsm_file_protect.bpf.c:156
294: (bf) r0 = r7                     ; R0_w=scalar(id=13) R7=scalar(id=13)
295: (95) exit
At program exit the register R0 has unknown scalar value should have been in [-4095, 0]
processed 227 insns (limit 1000000) max_states_per_insn 0 total_states 18 peak_states 18 mark_read 10
-- END PROG LOAD LOG --
libbpf: prog 'ptrace_access_check': failed to load: -22
libbpf: failed to load object 'lsm_file_protect'
`;

Deno.test("parseVerifierLog() finds the rejected program and the verdict, not the statistics", () => {
  assert.deepEqual(parseVerifierLog(LOG_612), {
    program: "ptrace_access_check",
    reason:
      "At program exit the register R0 has unknown scalar value should have been in [-4095, 0]",
  });
});

Deno.test("parseVerifierLog() keeps a two-line verdict", () => {
  const log = `libbpf: prog 'p': -- BEGIN PROG LOAD LOG --
12: (05) goto pc-2
back-edge from insn 12 to 11
infinite loop detected at insn 11
-- END PROG LOAD LOG --
`;
  assert.equal(
    parseVerifierLog(log)?.reason,
    "back-edge from insn 12 to 11 / infinite loop detected at insn 11",
  );
});

Deno.test("parseVerifierLog() is undefined without a program load log", () => {
  assert.equal(parseVerifierLog("libbpf: map 'x': failed to create: -1\n"), undefined);
});
