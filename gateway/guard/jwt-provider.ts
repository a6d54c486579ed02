import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import type { JwtProviderConfig } from "../config/types.js";
import { JwksUnavailable, jwksFetch } from "./jwks-fetch.js";

/**
 * Asymmetric algorithms only. An HMAC algorithm would let anyone holding a
 * public key sign tokens if a key set ever served one as a secret (the
 * classic algorithm confusion); jose checks each token's alg against this
 * list and the key's own type.
 */
const ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** How verifying a token ended, as the guard answers it. */
export type Verdict =
  | { ok: true; claims: JWTPayload }
  /** The token is missing, malformed, expired, for someone else, or badly signed: UNAUTHENTICATED. */
  | { ok: false; unavailable: false }
  /** The keys could not be fetched: nothing is known about the token (UNAVAILABLE). */
  | { ok: false; unavailable: true };

const REJECTED: Verdict = { ok: false, unavailable: false };
const UNAVAILABLE: Verdict = { ok: false, unavailable: true };

// Errors that say the key set could not be had, not that the token is bad.
const KEY_SET_FAILURES = new Set(["ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID", "ERR_JOSE_GENERIC"]);

/**
 * One trusted issuer: its keys (fetched and cached by jose's
 * createRemoteJWKSet, or given in the config) and what a token from it must
 * say. Built once per provider config and kept across reloads while the
 * provider is unchanged, so the key cache survives them (guard-state.ts).
 */
export class JwtProvider {
  private readonly keys: JWTVerifyGetKey;
  private readonly options: Parameters<typeof jwtVerify>[2];

  constructor(readonly config: JwtProviderConfig) {
    const jwks = config.jwks;
    this.keys =
      jwks.kind === "remote"
        ? createRemoteJWKSet(new URL(jwks.uri), {
            cacheMaxAge: jwks.cacheMaxAgeMs,
            cooldownDuration: jwks.cooldownMs,
            [customFetch]: jwksFetch(jwks.ca),
          })
        : createLocalJWKSet({ keys: jwks.keys } as unknown as JSONWebKeySet);
    this.options = {
      issuer: config.issuer,
      algorithms: ALGORITHMS,
      clockTolerance: config.clockSkewMs / 1000,
      // A token that never expires is a password that cannot be changed.
      requiredClaims: ["exp"],
    };
    if (config.audiences) this.options.audience = config.audiences;
  }

  async verify(token: string): Promise<Verdict> {
    try {
      const { payload } = await jwtVerify(token, this.keys, this.options);
      return { ok: true, claims: payload };
    } catch (err) {
      if (err instanceof JwksUnavailable) return UNAVAILABLE;
      const code = (err as { code?: unknown }).code;
      // jose's own errors all have ERR_ codes; anything else is the network's.
      if (typeof code !== "string" || !code.startsWith("ERR_") || KEY_SET_FAILURES.has(code)) return UNAVAILABLE;
      return REJECTED;
    }
  }
}

/** The issuer a token says it is from, unverified; only to tell "not yours" from "not valid". */
export function claimedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}
