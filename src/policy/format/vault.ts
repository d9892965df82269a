/**
 * The format of the `vault:` section and its `auth` block.
 *
 * @module
 */

import { DEFAULT_TIMEOUT_MS, KUBERNETES_TOKEN_PATH } from "../../vault/defaults.ts";
import {
  ABSOLUTE_PATH,
  CREDENTIAL_PATH,
  duration,
  MAX_DURATION_MS,
  VAULT_ADDRESS_PATTERN,
  VAULT_PATH,
} from "./values.ts";
import {
  boolean,
  type Field,
  object,
  type ObjectShape,
  required,
  string,
  type UnionShape,
} from "./shape.ts";

const mountPath = (defaultValue: string): Field => ({
  shape: string("Where the auth method is mounted.", { ...VAULT_PATH, default: defaultValue }),
});

const role = string("The Vault role to log in as.");

const AUTH: UnionShape = {
  kind: "union",
  name: "auth",
  description:
    "How X00 logs in to Vault. Default: method token (VAULT_TOKEN when set, else token_file_path).",
  discriminator: "method",
  discriminatorDescription: "The auth method.",
  label: "auth method",
  variants: {
    token: object(
      "token_auth",
      "A Vault token from VAULT_TOKEN when it is set, else read from token_file_path.",
      {
        token_file_path: string(
          "File holding the token (VAULT_TOKEN, when set, takes precedence).",
          CREDENTIAL_PATH,
        ),
      },
    ),
    approle: object(
      "approle_auth",
      "AppRole login with a role ID and a secret ID read from files.",
      {
        mount_path: mountPath("auth/approle"),
        role_id_file_path: required(
          string("File holding the role ID.", CREDENTIAL_PATH),
          "variant",
        ),
        secret_id_file_path: required(
          string("File holding the secret ID.", CREDENTIAL_PATH),
          "variant",
        ),
        remove_secret_id_file_after_reading: boolean(
          "Delete the secret ID file once read, as Vault Agent does.",
          true,
        ),
        secret_id_response_wrapping_path: string(
          "When set, the secret ID file holds a response-wrapping token created at this path (e.g. " +
            "auth/approle/role/app/secret-id); it is checked with sys/wrapping/lookup and unwrapped.",
          VAULT_PATH,
        ),
      },
    ),
    kubernetes: object(
      "kubernetes_auth",
      "Kubernetes login with the pod's service account token.",
      {
        mount_path: mountPath("auth/kubernetes"),
        role: required(role, "variant"),
        token_path: string("The service account token file.", {
          ...CREDENTIAL_PATH,
          default: KUBERNETES_TOKEN_PATH,
        }),
      },
    ),
    jwt: object(
      "jwt_auth",
      "JWT/OIDC login with a workload identity token read from a file at every login.",
      {
        mount_path: mountPath("auth/jwt"),
        role: required(role, "variant"),
        token_path: required(
          string("The JWT file (Vault Agent's jwt method calls it path).", CREDENTIAL_PATH),
          "variant",
        ),
        remove_jwt_after_reading: boolean(
          "Delete the JWT file once read (the JWT is then kept in memory for re-login).",
          false,
        ),
      },
      {
        misnamed: {
          path: {
            for: "token_path",
            message:
              "is Vault Agent's name for the JWT file: X00 calls it 'token_path', as for kubernetes",
          },
        },
      },
    ),
    cert: object(
      "cert_auth",
      "TLS certificate login with vault.client_cert and vault.client_key (both required).",
      {
        mount_path: mountPath("auth/cert"),
        name: string("The certificate role to log in against (default: every role of the mount)."),
      },
    ),
  },
};

/** The `vault:` section. */
export const VAULT: ObjectShape = object(
  "vault",
  "How to reach Vault; required when a secret has a Vault source. Names follow Vault Agent's vault and " +
    "auto_auth stanzas; unset values fall back to the usual VAULT_* variables where Vault does.",
  {
    address: string(
      "Vault's URL, e.g. https://vault.example:8200 (else VAULT_ADDR). http:// needs allow_insecure in " +
        "enforce mode.",
      {
        pattern: VAULT_ADDRESS_PATTERN,
        expected:
          "an http:// or https:// URL such as https://vault.example:8200, without user info",
        credential: (value) => value.includes("@"),
      },
    ),
    namespace: string("Vault Enterprise namespace."),
    ca_cert: string(
      "PEM file of the CA certificates that verify Vault's certificate.",
      ABSOLUTE_PATH,
    ),
    ca_path: string(
      "Directory of PEM CA certificates that verify Vault's certificate.",
      ABSOLUTE_PATH,
    ),
    client_cert: string("PEM client certificate for mTLS (needs client_key).", ABSOLUTE_PATH),
    client_key: string("PEM private key of client_cert (needs client_cert).", CREDENTIAL_PATH),
    tls_server_name: string(
      "Name to verify in Vault's certificate (SNI) when it differs from the address.",
    ),
    tls_skip_verify: boolean(
      "Do not verify Vault's certificate. Needs allow_insecure in enforce mode.",
      false,
    ),
    allow_insecure: boolean("Permit http:// addresses and tls_skip_verify in enforce mode.", false),
    max_retries: {
      shape: {
        kind: "integer",
        description: "Retries on connection errors, 412, 429 and 5xx responses.",
        minimum: 0,
        expected: "a non-negative integer",
        default: 12, // more than the vault CLI's DEFAULT_MAX_RETRIES: start-up rides out a leader election
      },
    },
    timeout: duration(
      "Timeout of one request.",
      1,
      MAX_DURATION_MS,
      `${DEFAULT_TIMEOUT_MS / 1000}s`,
    ),
    auth: { shape: AUTH },
  },
  {
    rules: [
      ...(["client_cert", "client_key"] as const).map((key) => {
        const other = key === "client_cert" ? "client_key" : "client_cert";
        return {
          kind: "when" as const,
          description: `'${key}' needs '${other}'.`,
          when: [{ at: key, present: true }],
          then: { at: other, present: true },
          report: { node: "then.parent", path: "then" } as const,
          message: ({ whenPath }: { whenPath: string }) => `is required when '${whenPath}' is set`,
        };
      }),
      {
        kind: "when",
        description: "Certificate auth logs in with the mTLS client certificate.",
        when: [{ at: "auth.method", equals: "cert" }],
        then: { at: "client_cert", present: true },
        report: { node: "when.value", path: "when" },
        message: () =>
          `is "cert", which needs 'vault.client_cert' and 'vault.client_key': the TLS client ` +
          "certificate is the credential",
      },
    ],
  },
);
