/**
 * Test certificates made with openssl at test time in a temporary directory: a CA, server certificates (the right
 * names, only `vault.test`, a wrong name), a client certificate for mTLS, an expired client certificate, and a
 * second CA with its own client certificate (for "untrusted" cases).
 *
 * @module
 */

/** Paths of the generated PEM files. */
export interface TestCerts {
  dir: string;
  caCert: string;
  caKey: string;
  /** SAN: localhost, 127.0.0.1, ::1. */
  serverCert: string;
  serverKey: string;
  /** SAN: vault.test only (for the server-name override). */
  namedServerCert: string;
  namedServerKey: string;
  /** SAN: wrong.example only. */
  wrongNameCert: string;
  wrongNameKey: string;
  clientCert: string;
  clientKey: string;
  /** Valid from 2020-01-01 to 2020-01-02. */
  expiredClientCert: string;
  expiredClientKey: string;
  /** A CA that signed nothing the server trusts. */
  otherCaCert: string;
  /** A client certificate signed by the other CA. */
  otherClientCert: string;
  otherClientKey: string;
  /** A server certificate for the same names as `serverCert`, signed by the other CA (an impostor's). */
  otherServerCert: string;
  otherServerKey: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr).slice(0, 500)}`,
    );
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function selfSignedCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
}

async function leaf(dir: string, name: string, cn: string, ca: string, ext: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl([
    "req",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ], dir);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ], dir);
}

/**
 * Generates every test certificate into a new temporary directory.
 *
 * @example Usage
 * ```ts ignore
 * const certs = await generateTestCerts();
 * try { console.log(certs.caCert); } finally { await certs.remove(); }
 * ```
 */
export async function generateTestCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "x00_vault_certs_" });
  const serverExt = (san: string) =>
    `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n`;
  const clientExt =
    "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n";
  await selfSignedCa(dir, "ca", "X00 Test CA");
  await selfSignedCa(dir, "other_ca", "Other Test CA");
  // One at a time: `-CAcreateserial` updates the CA's serial file.
  await leaf(dir, "server", "localhost", "ca", serverExt("DNS:localhost,IP:127.0.0.1,IP:::1"));
  await leaf(dir, "named_server", "vault.test", "ca", serverExt("DNS:vault.test"));
  await leaf(dir, "wrong_name", "wrong.example", "ca", serverExt("DNS:wrong.example"));
  await leaf(dir, "client", "x00-client", "ca", clientExt);
  await leaf(dir, "other_client", "other-client", "other_ca", clientExt);
  await leaf(
    dir,
    "other_server",
    "localhost",
    "other_ca",
    serverExt("DNS:localhost,IP:127.0.0.1,IP:::1"),
  );
  // An expired client certificate: `openssl x509` cannot backdate, `openssl ca` can.
  await Deno.mkdir(`${dir}/ca_db`);
  await Deno.writeTextFile(`${dir}/ca_db/index.txt`, "");
  await Deno.writeTextFile(`${dir}/ca_db/serial`, "1000\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    [
      "[ ca ]",
      "default_ca = test_ca",
      "[ test_ca ]",
      "database = ca_db/index.txt",
      "serial = ca_db/serial",
      "new_certs_dir = ca_db",
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "[ any ]",
      "commonName = supplied",
      "[ client_ext ]",
      "extendedKeyUsage = clientAuth",
      "basicConstraints = CA:FALSE",
      "",
    ].join("\n"),
  );
  await openssl([
    "req",
    ...EC,
    "-keyout",
    "expired.key",
    "-out",
    "expired.csr",
    "-subj",
    "/CN=expired-client",
  ], dir);
  await openssl([
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-cert",
    "ca.pem",
    "-keyfile",
    "ca.key",
    "-in",
    "expired.csr",
    "-out",
    "expired.pem",
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extensions",
    "client_ext",
    "-notext",
  ], dir);
  const p = (f: string) => `${dir}/${f}`;
  return {
    dir,
    caCert: p("ca.pem"),
    caKey: p("ca.key"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    namedServerCert: p("named_server.pem"),
    namedServerKey: p("named_server.key"),
    wrongNameCert: p("wrong_name.pem"),
    wrongNameKey: p("wrong_name.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    expiredClientCert: p("expired.pem"),
    expiredClientKey: p("expired.key"),
    otherCaCert: p("other_ca.pem"),
    otherClientCert: p("other_client.pem"),
    otherClientKey: p("other_client.key"),
    otherServerCert: p("other_server.pem"),
    otherServerKey: p("other_server.key"),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
