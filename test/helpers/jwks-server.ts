import https from "node:https";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from "jose";
import type { KeyPair } from "./tls-certs.js";

// An identity provider as far as the gateway sees one: a JSON Web Key Set
// served over HTTPS (with the test CA's server certificate), keys that can be
// rotated, and tokens signed with jose. Counts the key set requests, so a
// test can tell one fetch from a storm.

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function signingKey(kid: string, alg = "ES256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, alg === "EdDSA" ? { crv: "Ed25519" } : {});
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, jwk };
}

export interface TokenOptions {
  issuer?: string;
  audience?: string | string[];
  /** Seconds from now; negative: already expired. */
  expiresIn?: number;
  notBefore?: number;
  /** Sign with this key but name another kid in the header. */
  kid?: string;
}

export async function signToken(key: SigningKey, claims: JWTPayload, opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid, typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 300));
  if (opts.issuer !== undefined) jwt = jwt.setIssuer(opts.issuer);
  if (opts.audience !== undefined) jwt = jwt.setAudience(opts.audience);
  if (opts.notBefore !== undefined) jwt = jwt.setNotBefore(now + opts.notBefore);
  return jwt.sign(key.privateKey);
}

export interface JwksServer {
  /** https://localhost:<port>/jwks.json */
  readonly url: string;
  /** Key set requests served so far. */
  readonly requests: number;
  /** What the set publishes from now on. */
  publish(keys: SigningKey[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(tls: KeyPair, keys: SigningKey[]): Promise<JwksServer> {
  let published = keys;
  let requests = 0;
  const server = https.createServer(tls, (req, res) => {
    if (req.url !== "/jwks.json") {
      res.writeHead(404).end();
      return;
    }
    requests++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://localhost:${port}/jwks.json`,
    get requests() {
      return requests;
    },
    publish: (k) => (published = k),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
