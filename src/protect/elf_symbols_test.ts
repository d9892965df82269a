import assert from "node:assert/strict";
import { ElfFormatError, type ElfSymbol, readDataSymbols } from "./elf_symbols.ts";

const OBJECTS = new URL("../../bpf/objects/", import.meta.url);

function symbols(name: string): Map<string, ElfSymbol> {
  return readDataSymbols(Deno.readFileSync(new URL(`${name}.bpf.o`, OBJECTS)));
}

Deno.test("readDataSymbols() finds the exec monitor's settings and counter", () => {
  const syms = symbols("exec_monitor");
  assert.deepEqual(syms.get("emit_fork_exit"), { section: ".rodata", offset: 0, size: 1 });
  assert.deepEqual(syms.get("filter_cgroup_id"), { section: ".rodata", offset: 8, size: 8 });
  assert.deepEqual(syms.get("lost_events"), { section: ".bss", offset: 0, size: 8 });
  assert.equal(syms.get("events")?.section, ".maps");
});

for (const name of ["lsm_file_protect", "access_monitor"]) {
  Deno.test(`readDataSymbols() finds ${name}'s settings and counter`, () => {
    const syms = symbols(name);
    assert.deepEqual(syms.get("enforce"), { section: ".rodata", offset: 0, size: 1 });
    assert.deepEqual(syms.get("audit_all"), { section: ".rodata", offset: 1, size: 1 });
    assert.deepEqual(syms.get("block_environ_read"), { section: ".rodata", offset: 2, size: 1 });
    assert.deepEqual(syms.get("block_mem_read"), { section: ".rodata", offset: 3, size: 1 });
    assert.deepEqual(syms.get("block_ptrace"), { section: ".rodata", offset: 4, size: 1 });
    assert.deepEqual(syms.get("filter_accessor_pid"), { section: ".rodata", offset: 8, size: 4 });
    assert.deepEqual(syms.get("lost_events"), { section: ".bss", offset: 0, size: 8 });
    for (const map of ["access_events", "protected", "secret_inodes"]) {
      assert.equal(syms.get(map)?.section, ".maps", map);
    }
  });
}

Deno.test("readDataSymbols() lists only data objects, not programs", () => {
  const syms = symbols("exec_monitor");
  assert.equal(syms.has("handle_exec"), false);
  for (const s of syms.values()) assert.ok(s.size > 0);
});

Deno.test("readDataSymbols() accepts a view into a larger buffer", () => {
  const image = Deno.readFileSync(new URL("exec_monitor.bpf.o", OBJECTS));
  const padded = new Uint8Array(image.length + 13);
  padded.set(image, 13);
  const syms = readDataSymbols(padded.subarray(13));
  assert.deepEqual(syms.get("lost_events"), { section: ".bss", offset: 0, size: 8 });
});

Deno.test("readDataSymbols() rejects input that is not ELF", () => {
  assert.throws(() => readDataSymbols(new Uint8Array(0)), ElfFormatError);
  assert.throws(
    () => readDataSymbols(new TextEncoder().encode("#!/bin/sh\n".padEnd(128, " "))),
    (e: unknown) => e instanceof ElfFormatError && /not ELF/.test(e.message),
  );
});

Deno.test("readDataSymbols() rejects 32-bit and big-endian ELF", () => {
  const image = Deno.readFileSync(new URL("exec_monitor.bpf.o", OBJECTS));
  const elf32 = image.slice();
  elf32[4] = 1; // ELFCLASS32
  assert.throws(
    () => readDataSymbols(elf32),
    (e: unknown) => e instanceof ElfFormatError && /64-bit little-endian/.test(e.message),
  );
  const bigEndian = image.slice();
  bigEndian[5] = 2; // ELFDATA2MSB
  assert.throws(() => readDataSymbols(bigEndian), ElfFormatError);
});

Deno.test("readDataSymbols() throws on a truncated object instead of reading past it", () => {
  const image = Deno.readFileSync(new URL("exec_monitor.bpf.o", OBJECTS));
  // Today this is a RangeError from DataView, not an ElfFormatError (the section header table is not
  // bounds-checked); either way nothing past the buffer is read.
  for (const size of [64, 1000, image.length - 100]) {
    assert.throws(() => readDataSymbols(image.slice(0, size)), `size ${size}`);
  }
});

Deno.test("readDataSymbols() rejects a truncated object with ElfFormatError", async () => {
  const image = await Deno.readFile(
    new URL("../../bpf/objects/exec_monitor.bpf.o", import.meta.url),
  );
  for (const cut of [100, image.length / 2, image.length - 10]) {
    assert.throws(() => readDataSymbols(image.subarray(0, Math.floor(cut))), ElfFormatError);
  }
});
