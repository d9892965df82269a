/**
 * One BPF object taken through open -> configure -> load -> attach, owning its links until `close()`.
 *
 * @module
 */
import { BpfError, type BpfLink, type BpfMap, BpfObject, type BpfProgram } from "./libbpf.ts";
import { type BpfObjectName, readBpfObject } from "../assets/mod.ts";
import { readDataSymbols } from "./elf_symbols.ts";
import { mallocTrim } from "../../ffi/libc.ts";

/** A value for a `const volatile` global. */
export type RodataValue = boolean | number | bigint;

/** Options of {@linkcode LoadedObject.load}. */
export interface LoadOptions {
  /** `const volatile` globals to set before load, by name. */
  rodata?: Record<string, RodataValue>;
  /** Names of programs not to load (and not to attach). */
  skip?: string[];
  /** Ring buffer sizes in bytes (powers of two), by map name. */
  ringBufferBytes?: Record<string, number>;
}

/** A loaded BPF object and its links. */
export class LoadedObject {
  readonly object: BpfObject;
  readonly links: BpfLink[] = [];
  readonly #symbols: ReturnType<typeof readDataSymbols>;
  readonly #skip: Set<string>;

  private constructor(
    object: BpfObject,
    symbols: ReturnType<typeof readDataSymbols>,
    skip: Set<string>,
  ) {
    this.object = object;
    this.#symbols = symbols;
    this.#skip = skip;
  }

  /**
   * Opens the embedded object `name`, sets its configuration, and loads it. On failure nothing stays loaded.
   *
   * @example Usage
   * ```ts ignore
   * const obj = await LoadedObject.load("exec_monitor", { rodata: { emit_fork_exit: true } });
   * obj.attachAll();
   * obj.close();
   * ```
   */
  static async load(name: BpfObjectName, options: LoadOptions = {}): Promise<LoadedObject> {
    const image = await readBpfObject(name);
    const symbols = readDataSymbols(image);
    const object = BpfObject.openMem(image, name);
    const skip = new Set(options.skip ?? []);
    try {
      for (const p of object.programs()) if (skip.has(p.name)) p.setAutoload(false);
      for (const [map, bytes] of Object.entries(options.ringBufferBytes ?? {})) {
        object.map(map).setMaxEntries(bytes);
      }
      const rodata = Object.entries(options.rodata ?? {});
      if (rodata.length > 0) {
        const map = object.map(".rodata");
        const data = map.initialValue();
        const view = new DataView(data.buffer);
        for (const [key, value] of rodata) {
          const sym = symbols.get(key);
          if (!sym || sym.section !== ".rodata") {
            throw new Error(`BPF object ${name} has no setting ${key}`);
          }
          const n = typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value);
          if (sym.size === 1) view.setUint8(sym.offset, Number(n));
          else if (sym.size === 4) view.setUint32(sym.offset, Number(n), true);
          else if (sym.size === 8) view.setBigUint64(sym.offset, n, true);
          else throw new Error(`BPF setting ${key} has unsupported size ${sym.size}`);
        }
        map.setInitialValue(data);
      }
      object.load();
    } catch (e) {
      object.close();
      throw e;
    } finally {
      mallocTrim(); // the kernel BTF libbpf parsed for CO-RE is freed by now: give the memory back
    }
    return new LoadedObject(object, symbols, skip);
  }

  /** The programs of the embedded object `name` (opened, listed and closed without loading). */
  static async programsOf(name: BpfObjectName): Promise<{ name: string; section: string }[]> {
    const object = BpfObject.openMem(await readBpfObject(name), name);
    try {
      return object.programs().map((p) => ({ name: p.name, section: p.section }));
    } finally {
      object.close();
    }
  }

  /** The program with this name. */
  program(name: string): BpfProgram {
    return this.object.program(name);
  }

  /** The map with this name. */
  map(name: string): BpfMap {
    return this.object.map(name);
  }

  /**
   * Attaches every loaded program except those in `except` (and those whose section cannot auto-attach, such
   * as `raw_tp` without a name). On failure, links made so far are destroyed.
   */
  attachAll(except: string[] = []): void {
    try {
      for (const p of this.object.programs()) {
        if (this.#skip.has(p.name) || except.includes(p.name) || p.section === "raw_tp") continue;
        this.links.push(p.attach());
      }
    } catch (e) {
      this.detach();
      throw e;
    }
  }

  /** Reads a 64-bit counter from `.bss` (e.g. `lost_events`). */
  readCounter(name: string): bigint {
    const sym = this.#symbols.get(name);
    if (!sym || sym.section !== ".bss") {
      throw new Error(`BPF object ${this.object.name} has no counter ${name}`);
    }
    const bss = this.object.map(".bss");
    const value = new Uint8Array(this.#bssSize());
    if (!bss.lookup(new Uint8Array(4), value)) return 0n;
    return new DataView(value.buffer).getBigUint64(sym.offset, true);
  }

  #bssSize(): number {
    let end = 0;
    for (const s of this.#symbols.values()) {
      if (s.section === ".bss") end = Math.max(end, s.offset + s.size);
    }
    return Math.ceil(end / 8) * 8;
  }

  /** Destroys every link. Idempotent. */
  detach(): void {
    for (const l of this.links.splice(0)) l.destroy();
  }

  /** Detaches and frees the object. Idempotent. */
  close(): void {
    this.detach();
    this.object.close();
  }

  /**
   * Detaches every link concurrently, then frees the object. Each tracepoint detach waits for an RCU grace
   * period (tens of ms); overlapping them takes X00's exit from about a second to a few grace periods.
   */
  async closeAsync(): Promise<void> {
    await Promise.all(this.links.splice(0).map((l) => l.destroyAsync()));
    this.object.close();
  }
}

export { BpfError };
