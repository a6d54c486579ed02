import { execFileSync } from "node:child_process";
import { join } from "node:path";

/** The files kube-apiserver serves and signs with, all in one folder. */
export interface ApiserverPki {
  /** Self-signed serving certificate (also the clients' CA), SAN IP:`ip`. */
  cert: string;
  key: string;
  /** Service-account token signing key and its public half. */
  saKey: string;
  saPub: string;
}

const EC = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];

/** Throwaway keys for a test API server at `ip`, made with the openssl CLI in `dir`. */
export function makeApiserverPki(dir: string, ip: string): ApiserverPki {
  const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  openssl(["genpkey", ...EC, "-out", "apiserver.key"]);
  openssl([
    "req",
    "-x509",
    "-key",
    "apiserver.key",
    "-out",
    "apiserver.pem",
    "-days",
    "2",
    "-subj",
    "/CN=switchyard-test-apiserver",
    "-addext",
    `subjectAltName=IP:${ip},DNS:localhost`,
    "-addext",
    "extendedKeyUsage=serverAuth",
  ]);
  openssl(["genpkey", ...EC, "-out", "sa.key"]);
  openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  return {
    cert: join(dir, "apiserver.pem"),
    key: join(dir, "apiserver.key"),
    saKey: join(dir, "sa.key"),
    saPub: join(dir, "sa.pub"),
  };
}
