import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken, signingKey, type SigningKey } from "../../test/helpers/jwks-server.js";
import type { JwtProviderConfig } from "../config/types.js";
import { JwtProvider, claimedIssuer } from "./jwt-provider.js";

const base = (jwks: JwtProviderConfig["jwks"]): JwtProviderConfig => ({
  name: "p",
  issuer: "https://id.test/",
  jwks,
  fromHeader: "authorization",
  forward: false,
  clockSkewMs: 0,
});

let key: SigningKey;
let server: http.Server;
let requests = 0;
let status = 500;
let url: string;

beforeAll(async () => {
  key = await signingKey("k1");
  server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ keys: [key.jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("JwtProvider", () => {
  it("verifies with inline keys and tells a bad token from missing keys", async () => {
    const p = new JwtProvider(base({ kind: "local", keys: [key.jwk as Record<string, unknown>] }));
    const good = await signToken(key, { sub: "a" }, { issuer: "https://id.test/" });
    expect(await p.verify(good)).toMatchObject({ ok: true, claims: { sub: "a" } });
    expect(await p.verify(good.slice(0, -4) + "AAAA")).toEqual({ ok: false, unavailable: false });
    expect(await p.verify(await signToken(key, {}, { issuer: "https://id.test/", expiresIn: -5 }))).toEqual({
      ok: false,
      unavailable: false,
    });
    // No exp at all: refused.
    const { SignJWT } = await import("jose");
    const forever = await new SignJWT({ sub: "a" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("https://id.test/")
      .sign(key.privateKey);
    expect(await p.verify(forever)).toEqual({ ok: false, unavailable: false });
    expect(claimedIssuer(good)).toBe("https://id.test/");
    expect(claimedIssuer("junk")).toBeUndefined();
  });

  it("answers a key server that fails as unavailable, and asks it at most once a second", async () => {
    const p = new JwtProvider(base({ kind: "remote", uri: url, cacheMaxAgeMs: 600_000, cooldownMs: 0 }));
    const t = await signToken(key, { sub: "a" }, { issuer: "https://id.test/" });
    status = 500;
    requests = 0;
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => p.verify(t)));
    expect(verdicts.every((v) => !v.ok && v.unavailable)).toBe(true);
    for (let i = 0; i < 5; i++) expect(await p.verify(t)).toEqual({ ok: false, unavailable: true });
    expect(requests).toBe(1);
    status = 200;
    await new Promise((r) => setTimeout(r, 1100));
    expect(await p.verify(t)).toMatchObject({ ok: true });
    expect(requests).toBe(2);
  });
});
