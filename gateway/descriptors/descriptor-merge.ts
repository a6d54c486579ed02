import { clone, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  EnumDescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProtoSchema,
  type FileDescriptorProto,
  ServiceDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";

/** Files from one place: the gateway's own, a descriptor set the config names, or one endpoint's reflection. */
export interface DescriptorSource {
  /** For logs and the admin view: `built-in`, `descriptorSets[0]`, `cluster "billing" endpoint 10.0.0.7:50061`. */
  name: string;
  files: readonly FileDescriptorProto[];
}

/** The same fully-qualified name (or file name) defined differently by two sources. */
export interface Conflict {
  /** `acme.billing.v1.BillingService`, or `file acme/billing/v1/billing.proto`. */
  name: string;
  /** The source that had it first (kept), then the one that differs (left out). */
  sources: [string, string];
}

export interface MergeResult {
  /**
   * The learned files taken, preceded by the base files they import, each
   * after its imports: a FileDescriptorSet a registry can be built from.
   */
  files: FileDescriptorProto[];
  /** Learned sources taken whole. */
  taken: string[];
  conflicts: Conflict[];
  /** Learned sources left out because a file imports one nobody has, with why. */
  unresolved: string[];
}

/**
 * Merges what endpoints said over what the gateway already has (`base`: its
 * built-in files and the config's descriptor sets, never checked against each
 * other, as before reflection existed). Deterministic: learned sources are
 * taken in the order given (the caller sorts them), each whole or not at all.
 * A source that defines a name some earlier source defines differently is
 * left out and the conflict named; identical definitions (the same API from
 * every replica) are merged. Definitions are compared without what does not
 * change the API's meaning (source info, file options such as go_package,
 * json_name left implicit), and google.protobuf's and grpc.*'s files are
 * always the gateway's own (see isGatewaysOwn).
 */
export function mergeDescriptors(base: readonly DescriptorSource[], learned: readonly DescriptorSource[]): MergeResult {
  const symbols = new Map<string, { source: string; digest: string }>();
  const fileOwners = new Map<string, { source: string; defs: Map<string, string> }>();
  const baseFiles = new Map<string, FileDescriptorProto>();
  for (const s of base) {
    for (const f of s.files) {
      if (baseFiles.has(f.name)) continue;
      baseFiles.set(f.name, f);
      const defs = definitions(f);
      fileOwners.set(f.name, { source: s.name, defs });
      for (const [name, digest] of defs) if (!symbols.has(name)) symbols.set(name, { source: s.name, digest });
    }
  }

  const takenFiles = new Map<string, FileDescriptorProto>();
  const taken: string[] = [];
  const conflicts: Conflict[] = [];
  const unresolved: string[] = [];
  for (const s of learned) {
    // The gateway's own APIs and google.protobuf: its copies stand, whatever release the upstream has.
    const own = s.files.filter((f) => {
      if (!isGatewaysOwn(f)) return true;
      if (baseFiles.has(f.name) || takenFiles.has(f.name)) return false;
      return [...definitions(f).keys()].every((name) => !symbols.has(name));
    });
    const found: Conflict[] = [];
    const newSymbols = new Map<string, string>();
    const newFiles: FileDescriptorProto[] = [];
    for (const f of own) {
      const defs = definitions(f);
      const owner = fileOwners.get(f.name);
      if (owner) {
        // The same file again: the first copy stands, if it says the same.
        if (fileDigest(owner.defs) !== fileDigest(defs)) {
          const differ = [...defs].filter(([name, d]) => owner.defs.has(name) && owner.defs.get(name) !== d);
          const names = differ.length > 0 ? differ.map(([name]) => name) : [`file ${f.name}`];
          for (const name of names) found.push({ name, sources: [owner.source, s.name] });
        }
        continue;
      }
      newFiles.push(f);
      for (const [name, digest] of defs) {
        const had = symbols.get(name);
        if (had && had.digest !== digest) found.push({ name, sources: [had.source, s.name] });
        else if (!had) newSymbols.set(name, digest);
      }
    }
    if (found.length > 0) {
      conflicts.push(...found);
      continue;
    }
    const known = (name: string) =>
      fileOwners.has(name) || newFiles.some((f) => f.name === name) || takenFiles.has(name);
    const missing = newFiles.flatMap((f) => f.dependency.filter((d) => !known(d)).map((d) => `${f.name} imports ${d}`));
    if (missing.length > 0) {
      unresolved.push(`${s.name}: ${missing.join(", ")}, which neither it nor the gateway has`);
      continue;
    }
    for (const f of newFiles) {
      takenFiles.set(f.name, f);
      fileOwners.set(f.name, { source: s.name, defs: definitions(f) });
    }
    for (const [name, digest] of newSymbols) symbols.set(name, { source: s.name, digest });
    taken.push(s.name);
  }
  return { files: inImportOrder(takenFiles, baseFiles), taken, conflicts, unresolved };
}

/** Every file taken, after the files it imports (base files included where imported). */
function inImportOrder(
  taken: ReadonlyMap<string, FileDescriptorProto>,
  base: ReadonlyMap<string, FileDescriptorProto>,
): FileDescriptorProto[] {
  const out: FileDescriptorProto[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (name: string) => {
    if (placed.has(name) || visiting.has(name)) return;
    const f = taken.get(name) ?? base.get(name);
    if (!f) return;
    visiting.add(name);
    for (const d of f.dependency) place(d);
    visiting.delete(name);
    placed.add(name);
    out.push(f);
  };
  for (const name of [...taken.keys()].sort()) place(name);
  return out;
}

/**
 * google.protobuf's files, and grpc.*'s (health, reflection: the gateway
 * speaks them itself). Servers carry them from many releases (grpc-go 1.83's
 * health has a List method older copies lack), so a difference there says
 * nothing about the upstream's own API.
 */
function isGatewaysOwn(f: FileDescriptorProto): boolean {
  return f.package === "google.protobuf" || f.package.startsWith("grpc.");
}

/** Each top-level definition of a file by fully-qualified name, as comparable bytes (nested types inside their parent). */
function definitions(f: FileDescriptorProto): Map<string, string> {
  const prefix = f.package ? `${f.package}.` : "";
  const defs = new Map<string, string>();
  for (const m of f.messageType) defs.set(prefix + m.name, digest(toBinary(DescriptorProtoSchema, normalMessage(m))));
  for (const e of f.enumType) defs.set(prefix + e.name, digest(toBinary(EnumDescriptorProtoSchema, e)));
  for (const s of f.service) defs.set(prefix + s.name, digest(toBinary(ServiceDescriptorProtoSchema, s)));
  for (const x of f.extension) defs.set(prefix + x.name, digest(toBinary(FieldDescriptorProtoSchema, normalField(x))));
  return defs;
}

/** A file is its definitions, for comparing two copies of one file name. */
function fileDigest(defs: ReadonlyMap<string, string>): string {
  return [...defs].map(([name, d]) => `${name}=${d}`).join("\n");
}

function normalMessage(m: DescriptorProto): DescriptorProto {
  const c = clone(DescriptorProtoSchema, m);
  const walk = (d: DescriptorProto) => {
    d.field = d.field.map(normalField);
    d.extension = d.extension.map(normalField);
    d.nestedType.forEach(walk);
  };
  walk(c);
  return c;
}

/** json_name written out as protoc computes it, whether the server's copy had it or not. */
function normalField(f: FieldDescriptorProto): FieldDescriptorProto {
  if (f.jsonName !== "" && f.jsonName !== undefined) return f;
  const c = clone(FieldDescriptorProtoSchema, f);
  c.jsonName = defaultJsonName(f.name);
  return c;
}

/** protoc's ToJsonName: drop underscores, upper-case the letter after each. */
function defaultJsonName(name: string): string {
  let out = "";
  let upper = false;
  for (const ch of name) {
    if (ch === "_") upper = true;
    else {
      out += upper ? ch.toUpperCase() : ch;
      upper = false;
    }
  }
  return out;
}

function digest(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}
