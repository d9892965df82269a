import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { CertificateParseError, readCertificate } from "./_x509.ts";

async function openssl(args: string[], dir: string): Promise<void> {
  const r = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
}

/** Certificates made by openssl: RSA and EC keys, v1 and v3, UTCTime and GeneralizedTime, varied subjects. */
async function certificates(): Promise<{ label: string; pem: string }[]> {
  const dir = await Deno.makeTempDir();
  try {
    const out: { label: string; pem: string }[] = [];
    const cases: { label: string; key: string[]; subj: string; extra: string[] }[] = [
      { label: "rsa, CN only", key: ["-newkey", "rsa:2048"], subj: "/CN=vault-client", extra: [] },
      {
        label: "ec, full subject",
        key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        subj:
          "/C=DE/ST=Berlin/L=Berlin/O=X00 Test/OU=Platform/CN=app.example.org/emailAddress=ops@example.org",
        extra: [],
      },
      {
        label: "multi-valued RDN and UTF-8",
        key: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        subj: "/O=Grüße GmbH/OU=a+CN=b/DC=example/DC=org",
        extra: ["-multivalue-rdn", "-utf8"],
      },
      {
        label: "valid past 2049 (GeneralizedTime)",
        key: ["-newkey", "rsa:2048"],
        subj: "/CN=long-lived",
        extra: ["-days", "12000"],
      },
    ];
    for (const [i, c] of cases.entries()) {
      await openssl([
        "req",
        "-x509",
        ...c.key,
        "-nodes",
        "-keyout",
        `k${i}.pem`,
        "-out",
        `c${i}.pem`,
        "-subj",
        c.subj,
        "-days",
        "30",
        ...c.extra,
      ], dir);
      out.push({ label: c.label, pem: await Deno.readTextFile(`${dir}/c${i}.pem`) });
    }
    // A v1 certificate (no extensions, no version field) signed by the first one.
    await openssl([
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "k9.pem",
      "-out",
      "r9.csr",
      "-subj",
      "/CN=v1-client",
    ], dir);
    await openssl([
      "x509",
      "-req",
      "-in",
      "r9.csr",
      "-CA",
      "c0.pem",
      "-CAkey",
      "k0.pem",
      "-set_serial",
      "7",
      "-days",
      "5",
      "-out",
      "c9.pem",
    ], dir);
    out.push({ label: "v1, signed by a CA", pem: await Deno.readTextFile(`${dir}/c9.pem`) });
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readCertificate reads the validity and subject that node:crypto reads", async () => {
  for (const { label, pem } of await certificates()) {
    const mine = readCertificate(pem);
    const node = new X509Certificate(pem);
    assert.equal(
      mine.notBefore.getTime(),
      new Date(node.validFrom).getTime(),
      `${label}: notBefore`,
    );
    assert.equal(mine.notAfter.getTime(), new Date(node.validTo).getTime(), `${label}: notAfter`);
    assert.equal(mine.subject, node.subject, `${label}: subject`);
  }
});

Deno.test("readCertificate refuses what is not a certificate with CertificateParseError, never another error", async () => {
  const pem = (await certificates())[0]!.pem;
  const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  const wrap = (bytes: Uint8Array) =>
    `-----BEGIN CERTIFICATE-----\n${
      btoa(String.fromCharCode(...bytes))
    }\n-----END CERTIFICATE-----\n`;
  const bad = [
    "",
    "not a certificate",
    "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----",
  ];
  for (const n of [0, 1, 2, 10, 100, der.length - 1]) bad.push(wrap(der.subarray(0, n)));
  for (const text of bad) {
    assert.throws(() => readCertificate(text), CertificateParseError, text.slice(0, 40));
  }
  // Every single-byte change of the first 300 bytes (the header, serial, names and validity): a result or
  // CertificateParseError.
  for (let i = 0; i < Math.min(300, der.length); i++) {
    for (const v of [0x00, 0x80, 0xff, der[i]! ^ 0x01]) {
      const m = der.slice();
      m[i] = v;
      try {
        readCertificate(wrap(m));
      } catch (e) {
        assert.ok(e instanceof CertificateParseError, `byte ${i} = ${v}: ${e}`);
      }
    }
  }
});
