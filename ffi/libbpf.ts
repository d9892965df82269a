/**
 * libbpf bindings (libbpf >= 1.0): open -> configure -> load -> attach -> close, each step a method on an object
 * that owns its handle. Pointers stay in `#private` fields; callers see objects, numbers and typed errors.
 *
 * Which library is opened is the caller's choice ({@linkcode setLibbpfSource}): a path (default
 * `libbpf.so.1`, found by the dynamic linker), or library images (libbpf and its dependencies, loaded from memfds,
 * never written to disk). This module reads no environment variable and no file of X00's: it depends on nothing
 * but `./libc.ts`.
 *
 * @module
 */
import {
  close,
  epollAddReadable,
  epollCreate,
  errno,
  formatVaList,
  memfdCreate,
  MFD_CLOEXEC,
  mmapShared,
  munmap,
  pageSize,
  writeAll,
} from "./libc.ts";
import { lazySymbols } from "./_symbols.ts";

/** Symbol table of the libbpf functions X00 uses. */
const LIBBPF_SYMBOLS = {
  /** __u32 libbpf_major_version(void) */
  libbpf_major_version: { parameters: [], result: "u32" },
  /** __u32 libbpf_minor_version(void) */
  libbpf_minor_version: { parameters: [], result: "u32" },
  /** int libbpf_strerror(int err, char *buf, size_t size) */
  libbpf_strerror: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  /** libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn) */
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
  /** struct bpf_object *bpf_object__open_mem(const void *buf, size_t sz, const struct bpf_object_open_opts *) */
  bpf_object__open_mem: { parameters: ["buffer", "usize", "pointer"], result: "pointer" },
  /** int bpf_object__load(struct bpf_object *obj) */
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  /** void bpf_object__close(struct bpf_object *obj) */
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  /** struct bpf_program *bpf_object__next_program(const struct bpf_object *obj, struct bpf_program *prev) */
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  /** struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name) */
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** const char *bpf_program__name(const struct bpf_program *prog) */
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  /** const char *bpf_program__section_name(const struct bpf_program *prog) */
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  /** int bpf_program__set_autoload(struct bpf_program *prog, bool autoload) */
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  /** int bpf_program__fd(const struct bpf_program *prog) */
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  /** struct bpf_link *bpf_program__attach(const struct bpf_program *prog) */
  bpf_program__attach: { parameters: ["pointer"], result: "pointer" },
  /** int bpf_link__destroy(struct bpf_link *link) */
  bpf_link__destroy: { parameters: ["pointer"], result: "i32" },
  /** The same, on a worker thread: detaching a tracepoint waits for an RCU grace period, so links are detached
   * concurrently to overlap them. */
  bpf_link__destroy_nonblocking: {
    name: "bpf_link__destroy",
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  /** int bpf_map__fd(const struct bpf_map *map) */
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  /** __u32 bpf_map__max_entries(const struct bpf_map *map) */
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  /** int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries) */
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  /** int bpf_map__set_initial_value(struct bpf_map *map, const void *data, size_t size) */
  bpf_map__set_initial_value: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  /** const void *bpf_map__initial_value(struct bpf_map *map, size_t *psize) */
  bpf_map__initial_value: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags) */
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  /** int bpf_map_lookup_elem(int fd, const void *key, void *value) */
  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int bpf_map_delete_elem(int fd, const void *key) */
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  /** int bpf_obj_get_info_by_fd(int bpf_fd, void *info, __u32 *info_len) */
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int bpf_link__fd(const struct bpf_link *link) */
  bpf_link__fd: { parameters: ["pointer"], result: "i32" },
  /** struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map) */
  bpf_object__next_map: { parameters: ["pointer", "pointer"], result: "pointer" },
  /** const char *bpf_map__name(const struct bpf_map *map) */
  bpf_map__name: { parameters: ["pointer"], result: "pointer" },
  /** int bpf_prog_test_run_opts(int prog_fd, struct bpf_test_run_opts *opts) */
  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },
  /** int bpf_prog_load(enum bpf_prog_type type, const char *name, const char *license,
   *  const struct bpf_insn *insns, size_t insn_cnt, struct bpf_prog_load_opts *opts) */
  bpf_prog_load: {
    parameters: ["i32", "buffer", "buffer", "buffer", "usize", "buffer"],
    result: "i32",
  },
  /** int bpf_iter_create(int link_fd) */
  bpf_iter_create: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Symbols = Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS>["symbols"];

/** libbpf could not be found or opened. */
export class LibbpfNotFoundError extends Error {
  /** The path that was tried. */
  readonly path: string;
  constructor(path: string, hint: string, options?: ErrorOptions) {
    super(`Cannot load libbpf from '${path}'${hint ? `: ${hint}` : ""}`, options);
    this.name = "LibbpfNotFoundError";
    this.path = path;
  }
}

/**
 * Where libbpf comes from: a path for `dlopen` (a file, or a soname the dynamic linker searches), or library
 * images in load order (dependencies first, libbpf last, each named by its soname).
 */
export type LibbpfSource =
  | { path: string }
  | { images: readonly { soname: string; image: Uint8Array }[] };

/** How {@linkcode setLibbpfSource} is told where libbpf comes from, chosen when libbpf is first needed. */
export interface LibbpfSourceOptions {
  /** Returns the source; called once, on first use. */
  resolve: () => LibbpfSource;
  /** Appended to the error when the library cannot be opened (how to fix it). */
  hint?: string;
  /**
   * Keep libbpf's debug lines (CO-RE relocations, program sections: some 450-600 lines per object load) in the
   * log errors carry. Default false: they are dropped unread, before formatting, which saves 3-6 ms of
   * callbacks per load. Warnings and the verifier log are always kept.
   */
  debugLog?: boolean;
}

/** libbpf's `LIBBPF_DEBUG` print level (`enum libbpf_print_level`: WARN 0, INFO 1, DEBUG 2). */
const LIBBPF_DEBUG = 2;

let sourceOptions: LibbpfSourceOptions = { resolve: () => ({ path: "libbpf.so.1" }) };

/**
 * Chooses where libbpf is loaded from. Must be called before the first libbpf call; later calls are refused
 * (the library is loaded once per process).
 *
 * @example Usage
 * ```ts ignore
 * setLibbpfSource({ resolve: () => ({ path: "/opt/libbpf/libbpf.so.1" }), hint: "install libbpf1" });
 * ```
 */
export function setLibbpfSource(options: LibbpfSourceOptions): void {
  if (handle) throw new Error("libbpf is already loaded: choose its source before the first call");
  sourceOptions = options;
}

/** A libbpf call failed. `errno` is the positive error number; `log` holds what libbpf printed (verifier log). */
export class BpfError extends Error {
  /** Positive errno (EPERM = 1, ...). */
  readonly errno: number;
  /** What libbpf logged while the call ran (includes the verifier log on load failures). */
  readonly log: string;
  constructor(message: string, errnoValue: number, log = "", options?: ErrorOptions) {
    super(`${message}: ${strerror(errnoValue)} (errno ${errnoValue})`, options);
    this.name = "BpfError";
    this.errno = errnoValue;
    this.log = log;
  }
}

/** A program the kernel's verifier rejected while its object was loaded. */
export class BpfVerifierError extends BpfError {
  /** The C function name of the rejected program. */
  readonly program: string;
  /** The verifier's own reason: the last lines of its log. */
  readonly reason: string;
  constructor(object: string, program: string, reason: string, errnoValue: number, log: string) {
    super(
      `Cannot load BPF object ${object}: the verifier rejected program ${program}: ${reason}`,
      errnoValue,
      log,
    );
    this.name = "BpfVerifierError";
    this.program = program;
    this.reason = reason;
  }
}

/** Lines of a verifier log that are not its verdict: statistics, instructions with their state, source lines. */
const VERIFIER_NOISE =
  /^(processed \d+ insns|verification time|stack depth|mark_precise|\d+: |;|from \d+ to \d+)/;

/**
 * The rejected program and the verifier's reason in what libbpf logged during `bpf_object__load`, or
 * undefined when no program load log is in it (a map or relocation failure). The reason is the last line of
 * the verifier's verdict, with the line before it when that one is part of the verdict too.
 */
export function parseVerifierLog(log: string): { program: string; reason: string } | undefined {
  const m = /prog '([^']+)': -- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(
    log,
  );
  if (!m) return undefined;
  const lines = m[2]!.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  let end = lines.length;
  while (end > 0 && VERIFIER_NOISE.test(lines[end - 1]!)) end--;
  if (end === 0) return { program: m[1]!, reason: "no reason given" };
  const last = lines[end - 1]!;
  const before = lines[end - 2];
  const reason = before !== undefined && !VERIFIER_NOISE.test(before)
    ? `${before} / ${last}`
    : last;
  return { program: m[1]!, reason };
}

let lib: Symbols | undefined;
/** The library itself, opened without symbols (they are bound one by one: ffi/_symbols.ts). */
let handle: Deno.DynamicLibrary<Record<string, never>> | undefined;
let logLines: string[] = [];
const PRINT_FN = { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const;
/** Callbacks handed to libbpf for the life of the process. */
const keepAlive: Deno.UnsafeCallback<typeof PRINT_FN>[] = [];

let loadedFrom = "";
/** Dependencies loaded from memfds; kept open so their sonames satisfy libbpf's DT_NEEDED entries. */
const embeddedDeps: Deno.DynamicLibrary<Record<string, never>>[] = [];

/** Where libbpf was loaded from (a path, or `embedded (...)`), or the path that was tried, or `libbpf.so.1`. */
export function libbpfPath(): string {
  return loadedFrom || "libbpf.so.1";
}

/** Writes an embedded library into a memfd and returns its /proc/self/fd path. */
function memfdPath(name: string, image: Uint8Array): string {
  const fd = memfdCreate(name, MFD_CLOEXEC);
  writeAll(fd, image);
  return `/proc/self/fd/${fd}`;
}

/** The libbpf path to dlopen; images are written to memfds and their dependencies opened first. */
function resolveLibbpf(source: LibbpfSource): { path: string; label: string } {
  if ("path" in source) return { path: source.path, label: source.path };
  let path = "";
  for (const { soname, image } of source.images) {
    path = memfdPath(soname, image);
    if (soname !== "libbpf.so.1") embeddedDeps.push(Deno.dlopen(path, {}));
  }
  return { path, label: `embedded (${path})` };
}

function bpf(): Symbols {
  if (!lib) {
    let path = "libbpf.so.1";
    let symbols: Symbols;
    let major: number;
    try {
      const resolved = resolveLibbpf(sourceOptions.resolve());
      path = resolved.path;
      loadedFrom = resolved.label;
      handle ??= Deno.dlopen(path, {});
      symbols = lazySymbols(path, LIBBPF_SYMBOLS);
      major = symbols.libbpf_major_version();
    } catch (cause) {
      throw new LibbpfNotFoundError(path, sourceOptions.hint ?? "", { cause });
    }
    // Every symbol of the table is in libbpf 1.0 and later: an older library is refused here, by name, rather
    // than at the first call of a function it lacks.
    if (major < 1) {
      const version = `${major}.${symbols.libbpf_minor_version()}`;
      throw new LibbpfNotFoundError(path, `it is libbpf ${version}; X00 needs 1.0 or later`);
    }
    lib = symbols;
    const debugLog = sourceOptions.debugLog ?? false;
    const cb = new Deno.UnsafeCallback(PRINT_FN, (level, fmt, args) => {
      if (level >= LIBBPF_DEBUG && !debugLog) return 0;
      logLines.push(formatVaList(fmt, args));
      if (logLines.length > 2000) logLines = logLines.slice(-1000);
      return 0;
    });
    keepAlive.push(cb);
    lib.libbpf_set_print(cb.pointer);
  }
  return lib;
}

/** Runs `fn` and returns its result together with what libbpf logged meanwhile. */
function withLog<T>(fn: () => T): [T, string] {
  logLines = [];
  const r = fn();
  const log = logLines.join("");
  logLines = [];
  return [r, log];
}

/** libbpf_strerror(3) for a positive errno or libbpf error code. */
export function strerror(err: number): string {
  const buf = new Uint8Array(256);
  bpf().libbpf_strerror(err, buf, BigInt(buf.length));
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

/** The libbpf version as `major.minor`. */
export function libbpfVersion(): string {
  const s = bpf();
  return `${s.libbpf_major_version()}.${s.libbpf_minor_version()}`;
}

function cstr(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}

function check(call: string, ret: number): void {
  if (ret < 0) throw new BpfError(call, -ret);
}

/** The kernel's id of a program, map or link (`id` is at offset 4 of bpf_prog_info, bpf_map_info and
 * bpf_link_info alike). */
function objectId(fd: number, what: string): number {
  const info = new Uint8Array(16);
  const len = new Uint32Array([info.byteLength]);
  const ret = bpf().bpf_obj_get_info_by_fd(fd, info, new Uint8Array(len.buffer));
  if (ret < 0) throw new BpfError(`Cannot get the id of ${what}`, errno() || -ret);
  return new DataView(info.buffer).getUint32(4, true);
}

/** `enum bpf_prog_type`: BPF_PROG_TYPE_LSM. */
export const BPF_PROG_TYPE_LSM = 29;
/** `enum bpf_attach_type`: BPF_LSM_MAC. */
export const BPF_LSM_MAC = 27;

/**
 * Asks the kernel to load the smallest program (`r0 = 0; exit`, GPL) of `type` for `expectedAttachType`, with no
 * object, no BTF and no attach target, and closes it at once: no kernel BTF is parsed (libbpf's object load
 * reads and copies all of it, ~5 MB twice, for any program that needs an attach target). Returns 0 when it
 * loaded, else the errno. Which errno tells what the kernel would say to a real program: a target is needed
 * (EINVAL from the verifier) comes after the capability and security checks (EPERM), so an EPERM here is the
 * one a real program of this type gets.
 */
export function probeProgramLoad(type: number, expectedAttachType: number): number {
  // struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; }: mov64 r0, 0 (0xb7); exit (0x95).
  const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  // struct bpf_prog_load_opts up to expected_attach_type: { size_t sz; int attempts; u32 expected_attach_type; }
  const opts = new Uint8Array(16);
  const view = new DataView(opts.buffer);
  view.setBigUint64(0, BigInt(opts.length), true);
  view.setUint32(12, expectedAttachType, true);
  const fd = bpf().bpf_prog_load(type, cstr("x00_probe"), cstr("GPL"), insns, 2n, opts);
  if (fd < 0) return -fd;
  close(fd);
  return 0;
}

/** A BPF program of an object. Valid as long as its object is open. */
export class BpfProgram {
  #ptr: Deno.PointerObject;
  /** The C function name. */
  readonly name: string;
  /** The ELF section name, e.g. `lsm/file_open`. */
  readonly section: string;

  /** @internal Created by {@linkcode BpfObject}. */
  constructor(ptr: Deno.PointerObject) {
    this.#ptr = ptr;
    this.name = Deno.UnsafePointerView.getCString(bpf().bpf_program__name(ptr)!);
    this.section = Deno.UnsafePointerView.getCString(bpf().bpf_program__section_name(ptr)!);
  }

  /** Whether `load()` loads this program (before load only). */
  setAutoload(on: boolean): void {
    check(`Cannot set autoload of ${this.name}`, bpf().bpf_program__set_autoload(this.#ptr, on));
  }

  /** The program's file descriptor after load (negative if not loaded). */
  get fd(): number {
    return bpf().bpf_program__fd(this.#ptr);
  }

  /** The kernel's id of the loaded program. */
  get id(): number {
    return objectId(this.fd, `program ${this.name}`);
  }

  /** Attaches the program as its section says; the returned link keeps it attached until destroyed. */
  attach(): BpfLink {
    const [link, log] = withLog(() => bpf().bpf_program__attach(this.#ptr));
    if (link === null) {
      throw new BpfError(
        `Cannot attach BPF program ${this.name} (${this.section})`,
        errno() || 1,
        log,
      );
    }
    return new BpfLink(link, this.name);
  }

  /**
   * Runs the program once in the calling thread (BPF_PROG_TEST_RUN) with `ctx` as its context. Returns the
   * program's return value.
   */
  testRun(ctx: Uint8Array): number {
    const opts = new ArrayBuffer(80);
    const view = new DataView(opts);
    view.setBigUint64(0, 80n, true); // sz
    const ctxPtr = Deno.UnsafePointer.of(ctx);
    view.setBigUint64(32, BigInt(Deno.UnsafePointer.value(ctxPtr)), true); // ctx_in
    view.setUint32(48, ctx.byteLength, true); // ctx_size_in
    const ret = bpf().bpf_prog_test_run_opts(this.fd, new Uint8Array(opts));
    if (ret < 0) throw new BpfError(`Cannot run BPF program ${this.name}`, errno() || -ret);
    return view.getUint32(56, true); // retval
  }
}

/** An attachment of a program. Destroy it to detach. */
export class BpfLink {
  #ptr: Deno.PointerObject | null;
  /** Name of the attached program. */
  readonly program: string;

  /** @internal Created by {@linkcode BpfProgram.attach}. */
  constructor(ptr: Deno.PointerObject, program: string) {
    this.#ptr = ptr;
    this.program = program;
  }

  /** The link's file descriptor (negative once destroyed). */
  get fd(): number {
    return this.#ptr ? bpf().bpf_link__fd(this.#ptr) : -1;
  }

  /** The kernel's id of the link. */
  get id(): number {
    return objectId(this.fd, `the link of ${this.program}`);
  }

  /** For an iterator's link: a new file descriptor whose reads run the iterator (bpf_iter_create). */
  openIterator(): number {
    const fd = bpf().bpf_iter_create(this.fd);
    if (fd < 0) throw new BpfError(`Cannot open iterator ${this.program}`, errno() || -fd);
    return fd;
  }

  /** Detaches. Idempotent. */
  destroy(): void {
    if (this.#ptr) bpf().bpf_link__destroy(this.#ptr);
    this.#ptr = null;
  }

  /** Detaches on a worker thread (several links detach concurrently). Idempotent. */
  async destroyAsync(): Promise<void> {
    const ptr = this.#ptr;
    this.#ptr = null;
    if (ptr) await bpf().bpf_link__destroy_nonblocking(ptr);
  }
}

/** A map of an object. Valid as long as its object is open. */
export class BpfMap {
  #ptr: Deno.PointerObject;
  /** The map's name. */
  readonly name: string;

  /** @internal Created by {@linkcode BpfObject}. */
  constructor(ptr: Deno.PointerObject, name: string) {
    this.#ptr = ptr;
    this.name = name;
  }

  /** The map's file descriptor (after load). */
  get fd(): number {
    return bpf().bpf_map__fd(this.#ptr);
  }

  /** The kernel's id of the map (after load). */
  get id(): number {
    return objectId(this.fd, `map ${this.name}`);
  }

  /** max_entries (for a ring buffer: its size in bytes). */
  get maxEntries(): number {
    return bpf().bpf_map__max_entries(this.#ptr);
  }

  /** Sets max_entries (before load). */
  setMaxEntries(n: number): void {
    check(`Cannot resize map ${this.name}`, bpf().bpf_map__set_max_entries(this.#ptr, n));
  }

  /** A copy of the map's initial data (for `.rodata`, `.bss`, `.data`), before load. */
  initialValue(): Uint8Array {
    const size = new BigUint64Array(1);
    const p = bpf().bpf_map__initial_value(this.#ptr, new Uint8Array(size.buffer));
    if (p === null) throw new BpfError(`Map ${this.name} has no initial value`, 22);
    const n = Number(size[0]);
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, n)).slice();
  }

  /** Replaces the map's initial data (before load). */
  setInitialValue(data: Uint8Array): void {
    check(
      `Cannot set initial value of map ${this.name}`,
      bpf().bpf_map__set_initial_value(this.#ptr, data, BigInt(data.byteLength)),
    );
  }

  /** bpf_map_update_elem with flags (0 = BPF_ANY). */
  update(key: Uint8Array, value: Uint8Array, flags = 0n): void {
    if (bpf().bpf_map_update_elem(this.fd, key, value, flags) < 0) {
      throw new BpfError(`Cannot update map ${this.name}`, errno());
    }
  }

  /** bpf_map_lookup_elem into `value`; false when the key is absent. */
  lookup(key: Uint8Array, value: Uint8Array): boolean {
    if (bpf().bpf_map_lookup_elem(this.fd, key, value) < 0) {
      const e = errno();
      if (e === 2) return false; // ENOENT
      throw new BpfError(`Cannot look up map ${this.name}`, e);
    }
    return true;
  }

  /** bpf_map_delete_elem; false when the key was absent. */
  delete(key: Uint8Array): boolean {
    if (bpf().bpf_map_delete_elem(this.fd, key) < 0) {
      const e = errno();
      if (e === 2) return false;
      throw new BpfError(`Cannot delete from map ${this.name}`, e);
    }
    return true;
  }
}

/** A BPF object (an ELF file of programs and maps), opened from memory. */
export class BpfObject {
  #ptr: Deno.PointerObject | null;
  #image: Uint8Array;
  /** Name used in messages. */
  readonly name: string;

  private constructor(ptr: Deno.PointerObject, image: Uint8Array, name: string) {
    this.#ptr = ptr;
    this.#image = image;
    this.name = name;
  }

  /**
   * Opens an object from its ELF bytes.
   *
   * @example Open, load, attach
   * ```ts ignore
   * const obj = BpfObject.openMem(await Deno.readFile("bpf/exec_monitor.bpf.o"), "exec_monitor");
   * obj.load();
   * const links = obj.programs().map((p) => p.attach());
   * ```
   */
  static openMem(image: Uint8Array, name: string): BpfObject {
    const copy = image.slice(); // libbpf may keep pointers into the buffer until load
    const [ptr, log] = withLog(() =>
      bpf().bpf_object__open_mem(copy, BigInt(copy.byteLength), null)
    );
    if (ptr === null) throw new BpfError(`Cannot open BPF object ${name}`, errno() || 22, log);
    return new BpfObject(ptr, copy, name);
  }

  #handle(): Deno.PointerObject {
    if (!this.#ptr) throw new Error(`BPF object ${this.name} is closed`);
    return this.#ptr;
  }

  /** Every program of the object. */
  programs(): BpfProgram[] {
    const out: BpfProgram[] = [];
    let p: Deno.PointerValue = null;
    while ((p = bpf().bpf_object__next_program(this.#handle(), p)) !== null) {
      out.push(new BpfProgram(p));
    }
    return out;
  }

  /** The program with this C function name. */
  program(name: string): BpfProgram {
    const p = this.programs().find((p) => p.name === name);
    if (!p) throw new Error(`BPF object ${this.name} has no program ${name}`);
    return p;
  }

  /** Every map of the object (`.rodata`, `.bss` and friends included). */
  maps(): BpfMap[] {
    const out: BpfMap[] = [];
    let p: Deno.PointerValue = null;
    while ((p = bpf().bpf_object__next_map(this.#handle(), p)) !== null) {
      out.push(new BpfMap(p, Deno.UnsafePointerView.getCString(bpf().bpf_map__name(p)!)));
    }
    return out;
  }

  /** The map with this name (`.rodata`, `.bss` are named `<obj>.rodata` etc.; use the suffix). */
  map(name: string): BpfMap {
    const p = bpf().bpf_object__find_map_by_name(this.#handle(), cstr(name));
    if (p === null) throw new Error(`BPF object ${this.name} has no map ${name}`);
    return new BpfMap(p, name);
  }

  /** Loads (verifies) every autoload program. The error carries the verifier log. */
  load(): void {
    const [ret, log] = withLog(() => bpf().bpf_object__load(this.#handle()));
    if (ret < 0) {
      const rejected = parseVerifierLog(log);
      if (rejected) {
        throw new BpfVerifierError(this.name, rejected.program, rejected.reason, -ret, log);
      }
      throw new BpfError(`Cannot load BPF object ${this.name}`, -ret, log);
    }
    this.#image = new Uint8Array(0);
  }

  /** Frees the object, its maps and programs (links must be destroyed first). Idempotent. */
  close(): void {
    if (this.#ptr) bpf().bpf_object__close(this.#ptr);
    this.#ptr = null;
    this.#image = new Uint8Array(0);
  }
}

/** Called for each record; `data` is only valid during the call (the next record reuses it): copy what you keep. */
export type RingBufferHandler = (data: Uint8Array) => void;

/**
 * Consumes one or more ring buffer maps without blocking Deno's event loop: the caller waits on
 * {@linkcode RingBuffer.epollFd} (on a worker thread), then consumes synchronously (handlers run on the main
 * thread).
 *
 * Records are read by {@linkcode RingReader}, in JavaScript, without libbpf's `ring_buffer` (whose C-to-JavaScript
 * callback per record cost more than decoding the record: bench/RESULTS.md, section a). Not creating libbpf's
 * `ring_buffer` at all also saves its own mapping of each buffer: the kernel maps all of a ring buffer's pages at
 * mmap time, so every mapping counts its full size in the process's RSS.
 */
export class RingBuffer {
  #epollFd = -1;
  #readers: RingReader[] = [];
  #error: unknown;

  /** Adds a ring buffer map with its handler. */
  add(map: BpfMap, handler: RingBufferHandler): void {
    const reader = new RingReader(map, handler, (e) => this.#error ??= e);
    try {
      if (this.#epollFd < 0) this.#epollFd = epollCreate();
      epollAddReadable(this.#epollFd, map.fd);
    } catch (e) {
      reader.free();
      throw e;
    }
    this.#readers.push(reader);
  }

  /** The epoll descriptor that becomes readable when records are waiting. */
  get epollFd(): number {
    if (this.#epollFd < 0) throw new Error("ring buffer has no maps");
    return this.#epollFd;
  }

  /** The largest share of its ring's size that one ring buffer map had waiting in the last consume() (0 to 1). */
  get lastFill(): number {
    let fill = 0;
    for (const r of this.#readers) fill = Math.max(fill, r.lastFill);
    return fill;
  }

  /** Consumes every waiting record now; returns how many. */
  consume(): number {
    let n = 0;
    for (const r of this.#readers) n += r.consume();
    if (this.#error !== undefined) {
      const e = this.#error;
      this.#error = undefined;
      throw e;
    }
    return n;
  }

  /** Frees the epoll descriptor and unmaps the buffers. Idempotent. */
  free(): void {
    if (this.#epollFd >= 0) close(this.#epollFd);
    this.#epollFd = -1;
    for (const r of this.#readers) r.free();
    this.#readers = [];
  }
}

/** struct bpf_ringbuf_hdr: the record length's flags, and the header size. */
const RINGBUF_BUSY_BIT = 0x80000000;
const RINGBUF_DISCARD_BIT = 0x40000000;
const RINGBUF_HDR_SZ = 8;

/**
 * The consumer side of one BPF ring buffer map, in JavaScript: what libbpf's ringbuf_process_ring does, over the
 * map's pages: the consumer position read-write; the producer position and the data, read-only. libbpf maps the
 * data twice in a row so that no record wraps; this maps it once (half the RSS: the kernel maps every page at mmap
 * time) and copies a record that wraps in two parts. Headers never wrap (8 bytes at 8-byte offsets). Each record
 * is copied into a reused buffer and handed to the handler.
 */
class RingReader {
  readonly #handler: RingBufferHandler;
  readonly #onError: (e: unknown) => void;
  readonly #page: number;
  readonly #size: number;
  #consumerPage: Deno.PointerObject | null;
  #producerPages: Deno.PointerObject | null = null;
  readonly #consumerPos: BigUint64Array;
  #producerPos: BigUint64Array = new BigUint64Array(0);
  #data: Uint8Array = new Uint8Array(0);
  #header: Int32Array = new Int32Array(0);
  #mask = 0n;
  #scratch = new Uint8Array(1024);
  readonly #views = new Map<number, Uint8Array>();

  constructor(map: BpfMap, handler: RingBufferHandler, onError: (e: unknown) => void) {
    this.#handler = handler;
    this.#onError = onError;
    this.#page = pageSize();
    this.#size = map.maxEntries;
    const fd = map.fd;
    this.#consumerPage = mmapShared(fd, this.#page, 0, true);
    this.#consumerPos = new BigUint64Array(
      Deno.UnsafePointerView.getArrayBuffer(this.#consumerPage, 8),
    );
    try {
      const length = this.#page + this.#size;
      this.#producerPages = mmapShared(fd, length, this.#page, false);
      const all = Deno.UnsafePointerView.getArrayBuffer(this.#producerPages, length);
      this.#producerPos = new BigUint64Array(all, 0, 1);
      this.#data = new Uint8Array(all, this.#page, this.#size);
      this.#header = new Int32Array(all, this.#page, this.#size / 4);
      this.#mask = BigInt(this.#size - 1);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  /** The share of the ring's size that the last consume() read (0 to 1, more when the producer kept up). */
  lastFill = 0;

  /** Hands every committed record to the handler, in order; returns how many (discarded ones not counted). */
  consume(): number {
    this.lastFill = 0;
    if (this.#producerPages === null) return 0;
    const size = this.#size;
    let n = 0;
    const first = Atomics.load(this.#consumerPos, 0);
    let cons = first;
    for (;;) {
      const prod = Atomics.load(this.#producerPos, 0);
      if (cons >= prod) {
        this.lastFill = Number(cons - first) / this.#size;
        return n;
      }
      let off = Number(cons & this.#mask);
      let left = Number(prod - cons);
      let busy = false;
      while (left > 0) {
        const len = Atomics.load(this.#header, off >> 2) >>> 0;
        if (len & RINGBUF_BUSY_BIT) {
          busy = true;
          break;
        }
        const sample = len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT) & 0xffffffff;
        const step = Math.ceil((sample + RINGBUF_HDR_SZ) / 8) * 8;
        if ((len & RINGBUF_DISCARD_BIT) === 0) {
          this.#deliver((off + RINGBUF_HDR_SZ) % size, sample >>> 0);
          n++;
        }
        off = (off + step) % size;
        left -= step;
        cons += BigInt(step);
        Atomics.store(this.#consumerPos, 0, cons);
      }
      if (busy) {
        this.lastFill = Number(cons - first) / this.#size;
        return n;
      }
    }
  }

  #deliver(start: number, length: number): void {
    let view = this.#views.get(length);
    if (view === undefined) {
      if (length > this.#scratch.length) {
        this.#scratch = new Uint8Array(Math.max(length, this.#scratch.length * 2));
        this.#views.clear();
      }
      view = this.#scratch.subarray(0, length);
      this.#views.set(length, view);
    }
    const first = this.#size - start;
    if (length <= first) view.set(this.#data.subarray(start, start + length));
    else {
      // The record wraps around the end of the buffer.
      view.set(this.#data.subarray(start), 0);
      view.set(this.#data.subarray(0, length - first), first);
    }
    try {
      this.#handler(view);
    } catch (e) {
      this.#onError(e);
    }
  }

  /** Unmaps the pages. Idempotent. */
  free(): void {
    if (this.#producerPages) munmap(this.#producerPages, this.#page + this.#size);
    this.#producerPages = null;
    if (this.#consumerPage) munmap(this.#consumerPage, this.#page);
    this.#consumerPage = null;
  }
}
