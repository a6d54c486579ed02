import { describe, expect, it } from "vitest";
import { forwardedClientCert, parseSubjectAltName } from "./client-cert.js";

describe("client certificate SANs", () => {
  it("keeps URI and DNS entries of Node's subjectaltname text", () => {
    expect(parseSubjectAltName("DNS:a.example, URI:spiffe://corp/web, IP Address:127.0.0.1, email:x@y")).toEqual([
      "DNS:a.example",
      "URI:spiffe://corp/web",
    ]);
    expect(parseSubjectAltName("")).toEqual([]);
  });

  it("reads a quoted value whole, so a comma inside cannot make a second entry", () => {
    expect(parseSubjectAltName('URI:"spiffe://x, DNS:admin", DNS:b')).toEqual(["URI:spiffe://x, DNS:admin", "DNS:b"]);
  });

  it("writes Envoy's x-forwarded-client-cert form, quoting values with separators", () => {
    expect(forwardedClientCert(["URI:spiffe://corp/web", "DNS:a"])).toBe("URI=spiffe://corp/web;DNS=a");
    expect(forwardedClientCert(["URI:x;y"])).toBe('URI="x;y"');
  });
});
