/**
 * Symbol tables bound one symbol at a time, on first use. Deno binds each foreign function when its library is
 * opened, 0.3-0.5 ms apiece (it builds a fast-call trampoline for it): libc's and libbpf's whole tables cost ~20
 * ms of every start-up, although a command calls only some of their functions. Each table stays one declaration
 * (its module's); a symbol is bound by opening the library again with just that symbol (the dynamic loader
 * hands back the handle it already has), then kept as a plain property.
 *
 * @module
 */

/** A symbol could not be bound (the library lacks it). */
export class SymbolError extends Error {
  override name = "SymbolError";
}

/**
 * The symbols of `table` in `path`, each bound when it is first read. Opening `path` itself is the caller's
 * business (an error there should name the library, not a symbol).
 *
 * @example Usage
 * ```ts ignore
 * const libc = lazySymbols("libc.so.6", { getpid: { parameters: [], result: "i32" } });
 * libc.getpid(); // bound here
 * ```
 */
export function lazySymbols<S extends Deno.ForeignLibraryInterface>(
  path: string,
  table: S,
): Deno.DynamicLibrary<S>["symbols"] {
  const symbols = {} as Deno.DynamicLibrary<S>["symbols"];
  const opened: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>[] = []; // kept open for the process's life
  for (const name of Object.keys(table)) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      enumerable: true,
      get() {
        let lib: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>;
        try {
          lib = Deno.dlopen(path, { [name]: table[name]! });
        } catch (cause) {
          throw new SymbolError(`Cannot bind ${name} in ${path}`, { cause });
        }
        opened.push(lib);
        const fn = lib.symbols[name];
        Object.defineProperty(symbols, name, { value: fn, enumerable: true });
        return fn;
      },
    });
  }
  return symbols;
}
