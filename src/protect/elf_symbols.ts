/**
 * Reads the symbol table of a BPF ELF object, to find where `const volatile` globals live inside `.rodata` (and
 * counters inside `.bss`) without a generated skeleton.
 *
 * @module
 */

/** A global variable: its section and its offset and size inside it. */
export interface ElfSymbol {
  section: string;
  offset: number;
  size: number;
}

/** Thrown for a file that is not a 64-bit little-endian ELF object. */
export class ElfFormatError extends Error {
  constructor(message: string) {
    super(`Cannot read BPF object symbols as ${message}`);
    this.name = "ElfFormatError";
  }
}

const STT_OBJECT = 1;

/**
 * Global data symbols (`STT_OBJECT`) of an ELF64 LE object, by name.
 *
 * @example Usage
 * ```ts ignore
 * const syms = readDataSymbols(await Deno.readFile("bpf/objects/exec_monitor.bpf.o"));
 * syms.get("lost_events"); // { section: ".bss", offset: 0, size: 8 }
 * ```
 */
export function readDataSymbols(image: Uint8Array): Map<string, ElfSymbol> {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (image.length < 64 || v.getUint32(0, false) !== 0x7f454c46) {
    throw new ElfFormatError("it is not ELF");
  }
  if (image[4] !== 2 || image[5] !== 1) throw new ElfFormatError("it is not 64-bit little-endian");
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  if (shentsize < 64 || shoff + shnum * shentsize > image.length || shstrndx >= shnum) {
    throw new ElfFormatError("its section headers lie outside the file (truncated?)");
  }
  const sect = (i: number) => {
    const o = shoff + i * shentsize;
    const offset = Number(v.getBigUint64(o + 0x18, true));
    const size = Number(v.getBigUint64(o + 0x20, true));
    const type = v.getUint32(o + 4, true);
    if (type !== 8 && offset + size > image.length) { // SHT_NOBITS (.bss) has no bytes in the file
      throw new ElfFormatError(`section ${i} lies outside the file (truncated?)`);
    }
    return {
      name: v.getUint32(o, true),
      type,
      offset,
      size,
      link: v.getUint32(o + 0x28, true),
      entsize: Number(v.getBigUint64(o + 0x38, true)),
    };
  };
  const str = (tab: number, off: number) => {
    const s = sect(tab);
    const start = s.offset + off;
    let end = start;
    while (end < image.length && image[end] !== 0) end++;
    return new TextDecoder().decode(image.subarray(start, end));
  };
  const names: string[] = [];
  for (let i = 0; i < shnum; i++) names.push(str(shstrndx, sect(i).name));

  const out = new Map<string, ElfSymbol>();
  for (let i = 0; i < shnum; i++) {
    const s = sect(i);
    if (s.type !== 2) continue; // SHT_SYMTAB
    const count = s.size / (s.entsize || 24);
    for (let k = 0; k < count; k++) {
      const o = s.offset + k * 24;
      const info = image[o + 4]!;
      const shndx = v.getUint16(o + 6, true);
      if ((info & 0xf) !== STT_OBJECT || shndx === 0 || shndx >= shnum) continue;
      out.set(str(s.link, v.getUint32(o, true)), {
        section: names[shndx]!,
        offset: Number(v.getBigUint64(o + 8, true)),
        size: Number(v.getBigUint64(o + 16, true)),
      });
    }
  }
  return out;
}
