/** What an HTTP/2 client with prior knowledge (h2c) sends first (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type Sniffed = "h2" | "http1" | "need-more";

/**
 * Tells h2c from HTTP/1.1 by the first bytes of a cleartext connection.
 * Anything that stops matching the preface is left to the HTTP/1.1 parser,
 * which answers garbage with 400 itself.
 */
export function sniffPreface(data: Uint8Array): Sniffed {
  const n = Math.min(data.length, H2_PREFACE.length);
  for (let i = 0; i < n; i++) {
    if (data[i] !== H2_PREFACE[i]) return "http1";
  }
  return n === H2_PREFACE.length ? "h2" : "need-more";
}
