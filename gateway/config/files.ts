import { readFile as fsReadFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { formatValue, problemAt, type PathSegment, type Problem } from "./problems.js";

// The config names files; the gateway wants their contents. Reading happens
// here, once, so a missing or wrong file is a config problem reported next to
// all the others instead of a crash at the first TLS handshake.

export type FileKind = "pem" | "descriptorSet" | "jwks";

export interface FileRef {
  at: PathSegment[];
  /** As written in the config; relative to the config's folder. */
  file: string;
  kind: FileKind;
}

export type ReadFile = (absolutePath: string) => Promise<Uint8Array>;

export interface LoadedFiles {
  /** Keyed by the path as written, which is how the normalizer looks them up. */
  contents: Map<string, Uint8Array>;
  problems: Problem[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Every file the config refers to; tolerates malformed input (the schema reports that). */
export function collectFileRefs(raw: unknown): FileRef[] {
  if (!isObj(raw)) return [];
  const refs: FileRef[] = [];
  const add = (at: PathSegment[], file: unknown, kind: FileKind) => {
    if (typeof file === "string" && file !== "") refs.push({ at, file, kind });
  };
  list(raw.listeners).forEach((l, i) => {
    const tls = isObj(l) ? l.tls : undefined;
    if (!isObj(tls)) return;
    for (const key of ["cert", "key", "clientCa"]) add(["listeners", i, "tls", key], tls[key], "pem");
  });
  if (isObj(raw.clusters)) {
    for (const [name, c] of Object.entries(raw.clusters)) {
      const tls = isObj(c) ? c.tls : undefined;
      if (!isObj(tls)) continue;
      for (const key of ["ca", "cert", "key"]) add(["clusters", name, "tls", key], tls[key], "pem");
    }
  }
  list(raw.descriptorSets).forEach((f, i) => add(["descriptorSets", i], f, "descriptorSet"));
  const providers = isObj(raw.auth) && isObj(raw.auth.jwt) ? raw.auth.jwt.providers : undefined;
  if (isObj(providers)) {
    for (const [name, p] of Object.entries(providers)) {
      if (!isObj(p)) continue;
      add(["auth", "jwt", "providers", name, "jwksFile"], p.jwksFile, "jwks");
      add(["auth", "jwt", "providers", name, "jwksCa"], p.jwksCa, "pem");
    }
  }
  return refs;
}

export const readFromDisk: ReadFile = (path) => fsReadFile(path);

/** Reads each distinct file once and checks it is the kind of file its key expects. */
export async function readFileRefs(
  refs: readonly FileRef[],
  baseDir: string,
  readFile: ReadFile,
): Promise<LoadedFiles> {
  const unique = [...new Set(refs.map((r) => r.file))];
  const results = await Promise.all(unique.map((file) => readOne(file, baseDir, readFile)));
  const byFile = new Map(unique.map((file, i) => [file, results[i]!]));
  const contents = new Map<string, Uint8Array>();
  const problems: Problem[] = [];
  for (const ref of refs) {
    const result = byFile.get(ref.file)!;
    if (!result.ok) {
      problems.push(problemAt(ref.at, `cannot read file ${formatValue(ref.file)}: ${result.reason}`));
      continue;
    }
    const wrongKind = checkKind(result.bytes, ref.kind);
    if (wrongKind) problems.push(problemAt(ref.at, `${formatValue(ref.file)} ${wrongKind}`));
    else contents.set(ref.file, result.bytes);
  }
  return { contents, problems };
}

type ReadResult = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

async function readOne(file: string, baseDir: string, readFile: ReadFile): Promise<ReadResult> {
  const absolute = resolve(baseDir, file);
  try {
    return { ok: true, bytes: await readFile(absolute) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    // Show where we looked: relative paths follow the config file, not the working directory.
    const hint = isAbsolute(file) ? "" : ` (looked for ${absolute})`;
    return { ok: false, reason: `${code}${hint}` };
  }
}

/** Why the bytes are not of the expected kind, or undefined when they are. */
export function checkKind(bytes: Uint8Array, kind: FileKind): string | undefined {
  if (kind === "pem") {
    // Catches the common slip of pointing at a DER file or the wrong file entirely.
    return new TextDecoder().decode(bytes).includes("-----BEGIN ")
      ? undefined
      : 'is not a PEM file (no "-----BEGIN" line)';
  }
  if (kind === "jwks") return checkJwks(bytes);
  try {
    const set = fromBinary(FileDescriptorSetSchema, bytes);
    return set.file.length > 0
      ? undefined
      : "is not a FileDescriptorSet with any files (build one with `buf build -o image.binpb`)";
  } catch (err) {
    return `is not a binary FileDescriptorSet (${(err as Error).message}; build one with \`buf build -o image.binpb\`)`;
  }
}

function checkJwks(bytes: Uint8Array): string | undefined {
  const expected = 'is not a JSON Web Key Set (expected JSON like {"keys": [{"kty": "EC", ...}]})';
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return `${expected}: ${(err as Error).message}`;
  }
  const keys = isObj(value) ? value.keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) return expected;
  const bad = keys.findIndex((k) => !isObj(k) || typeof k.kty !== "string");
  return bad < 0 ? undefined : `${expected}: keys[${bad}] has no kty`;
}
