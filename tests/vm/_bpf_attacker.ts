/**
 * An attacker's BPF loader for the VM tests, run as a separate root process outside X00's family:
 *   deno run -A tests/vm/_bpf_attacker.ts OBJECT PROGRAM
 * loads PROGRAM of the BPF object file OBJECT (only that one), and for an iterator attaches it and reads its
 * output. Prints one JSON line: {"loaded":true,"output":"..."} or {"loaded":false,"errno":N,"error":"..."}.
 *
 * @module
 */
import { BpfError, BpfObject } from "../../src/protect/libbpf.ts";
import { close, readToEnd } from "../../ffi/libc.ts";

const [file, name] = Deno.args;
if (!file || !name) {
  console.log(JSON.stringify({ loaded: false, errno: 22, error: "usage: OBJECT PROGRAM" }));
  Deno.exit(2);
}
const object = BpfObject.openMem(Deno.readFileSync(file), "attacker");
for (const p of object.programs()) p.setAutoload(p.name === name);
try {
  object.load();
} catch (e) {
  const errno = e instanceof BpfError ? e.errno : 0;
  console.log(JSON.stringify({ loaded: false, errno, error: (e as Error).message.split("\n")[0] }));
  Deno.exit(1);
}
const program = object.program(name);
let output = "";
if (program.section.startsWith("iter")) {
  const link = program.attach();
  const fd = link.openIterator();
  output = new TextDecoder().decode(readToEnd(fd));
  close(fd);
  link.destroy();
}
object.close();
console.log(JSON.stringify({ loaded: true, output }));
