import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed `server` and `client`. */
  ca: string;
  /** CN localhost, SAN DNS:localhost, IP:127.0.0.1, serverAuth. */
  server: KeyPair;
  /** CN switchyard-test-client, clientAuth, signed by `ca`. */
  client: KeyPair;
  /** A second CA nobody trusts, and a client certificate it signed. */
  otherCa: string;
  strangerClient: KeyPair;
  cleanup(): void;
}

/**
 * Fails (never skips) when the openssl CLI is missing: a TLS suite that
 * quietly does nothing would look green while testing nothing.
 */
export function requireOpenssl(): string {
  try {
    return execFileSync("openssl", ["version"], { encoding: "utf8" }).trim();
  } catch (err) {
    const where = process.env.CI === "true" ? "on this CI runner" : "on this machine";
    throw new Error(
      `the TLS tests need the openssl CLI ${where}, but running "openssl version" failed: ${(err as Error).message}. ` +
        "Install OpenSSL (e.g. apt-get install openssl) and run again.",
    );
  }
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

// EC P-256 keys: generated in milliseconds, unlike RSA.
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=Switchyard throwaway ${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function makeLeaf(dir: string, ca: string, name: string, cn: string, ext: string[]): KeyPair {
  openssl(dir, ["req", ...NEW_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
  writeFileSync(join(dir, `${name}.ext`), `${ext.join("\n")}\n`);
  const serial = `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-set_serial",
    serial,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
  return { cert: readFileSync(join(dir, `${name}.pem`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") };
}

const SERVER_EXT = [
  "basicConstraints=CA:FALSE",
  "keyUsage=critical,digitalSignature,keyEncipherment",
  "extendedKeyUsage=serverAuth",
  "subjectAltName=DNS:localhost,IP:127.0.0.1",
];

/** Another server certificate (new key, new serial) from `pki`'s CA, as a rotation would bring. */
export function issueServerCert(pki: TestPki, name: string): KeyPair {
  return makeLeaf(pki.dir, "ca", name, "localhost", SERVER_EXT);
}

/** A client certificate from `pki`'s CA with these subject alternative names (e.g. "URI:spiffe://corp/web", "DNS:a.test"). */
export function issueClientCert(pki: TestPki, name: string, sans: string[]): KeyPair {
  return makeLeaf(pki.dir, "ca", name, name, [...CLIENT_EXT, `subjectAltName=${sans.join(",")}`]);
}

const CLIENT_EXT = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=clientAuth"];

/** A throwaway CA, server and client certificates, made with the openssl CLI in a temp dir. */
export function generateTestPki(): TestPki {
  requireOpenssl();
  const dir = mkdtempSync(join(tmpdir(), "switchyard-tls-"));
  makeCa(dir, "ca");
  makeCa(dir, "other-ca");
  const server = makeLeaf(dir, "ca", "server", "localhost", SERVER_EXT);
  const client = makeLeaf(dir, "ca", "client", "switchyard-test-client", CLIENT_EXT);
  const strangerClient = makeLeaf(dir, "other-ca", "stranger", "stranger", CLIENT_EXT);
  return {
    dir,
    ca: readFileSync(join(dir, "ca.pem"), "utf8"),
    server,
    client,
    otherCa: readFileSync(join(dir, "other-ca.pem"), "utf8"),
    strangerClient,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
