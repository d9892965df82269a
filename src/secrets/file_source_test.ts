import assert from "node:assert/strict";
import { ExitCode, X00Error } from "../errors.ts";
import { FileSecretSource } from "./file_source.ts";
import { zeroSecret } from "./source.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("FileSecretSource.fetch() returns the whole file content as bytes", async () => {
  await withTempDir(async (dir) => {
    const bytes = new Uint8Array([0x70, 0x77, 0x00, 0xff, 0x0a]); // binary, trailing newline kept
    await Deno.writeFile(`${dir}/password`, bytes);
    const source = new FileSecretSource("db-password", { type: "file", path: `${dir}/password` });
    assert.equal(source.name, "db-password");
    const secret = await source.fetch();
    assert.deepEqual([...secret.values.keys()], [""]);
    assert.deepEqual(secret.values.get(""), bytes);
    assert.equal(secret.version, undefined);
    zeroSecret(secret);
    assert.deepEqual(secret.values.get(""), new Uint8Array(5));
  });
});

Deno.test("FileSecretSource.fetch() reads the file again on every call", async () => {
  await withTempDir(async (dir) => {
    const source = new FileSecretSource("s", { type: "file", path: `${dir}/s` });
    await Deno.writeTextFile(`${dir}/s`, "one");
    assert.deepEqual((await source.fetch()).values.get(""), new TextEncoder().encode("one"));
    await Deno.writeTextFile(`${dir}/s`, "two");
    assert.deepEqual((await source.fetch()).values.get(""), new TextEncoder().encode("two"));
  });
});

Deno.test("FileSecretSource.fetch() names the entry, the path and the OS reason when the file is missing", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/missing`;
    const source = new FileSecretSource("db-password", { type: "file", path });
    await assert.rejects(source.fetch(), (error: unknown) => {
      assert.ok(error instanceof X00Error);
      assert.equal(error.exitCode, ExitCode.SECRET_UNAVAILABLE);
      assert.equal(
        error.message,
        `Cannot fetch secret 'db-password' as file '${path}' cannot be read: ` +
          "No such file or directory (os error 2)",
      );
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    });
  });
});

Deno.test("FileSecretSource.fetch() rejects directories and empty files", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      new FileSecretSource("d", { type: "file", path: dir }).fetch(),
      (error: unknown) => {
        assert.ok(error instanceof X00Error);
        assert.equal(
          error.message,
          `Cannot fetch secret 'd' as file '${dir}' cannot be read: Is a directory (os error 21)`,
        );
        return true;
      },
    );
    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    await assert.rejects(
      new FileSecretSource("e", { type: "file", path: `${dir}/empty` }).fetch(),
      (error: unknown) => {
        assert.ok(error instanceof X00Error);
        assert.equal(error.exitCode, ExitCode.SECRET_UNAVAILABLE);
        assert.equal(error.message, `Cannot fetch secret 'e' as file '${dir}/empty' is empty`);
        return true;
      },
    );
  });
});

Deno.test("FileSecretSource.fetch() rejects with the abort reason when aborted", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/s`, "value");
    const controller = new AbortController();
    controller.abort(new Error("stopping"));
    await assert.rejects(
      new FileSecretSource("s", { type: "file", path: `${dir}/s` }).fetch({
        signal: controller.signal,
      }),
      (error: unknown) => !(error instanceof X00Error),
    );
  });
});
