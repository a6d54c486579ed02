/** A new service's names, all derived from its fully-qualified name. */
export interface ServiceName {
  /** acme.billing.v1.BillingService */
  full: string;
  /** acme.billing.v1 */
  pkg: string;
  /** BillingService */
  service: string;
  /** billing: the folder under services/, the .proto's name, `--service billing`. */
  short: string;
  /** proto/acme/billing/v1/billing.proto, relative to the checkout. */
  protoPath: string;
  /** acme/billing/v1/billing_pb (gen/<this>.ts), as buf generate names it. */
  genModule: string;
  /** file_acme_billing_v1_billing: the generated file's export. */
  fileExport: string;
}

/** A name `new-service` cannot use; the message says what would work. */
export class NameError extends Error {
  override name = "NameError";
}

const PART = /^[a-z][a-z0-9_]*$/;
const VERSION = /^v\d+((alpha|beta)\d*)?$/;
const SERVICE = /^[A-Z][A-Za-z0-9]*Service$/;
// Packages the gateway speaks itself or takes from protobuf: a service there would collide.
const RESERVED = ["google", "grpc"];

/**
 * Checks `full` the way buf's STANDARD lint would (lower_snake package parts,
 * a version suffix, a PascalCase service ending in Service) and derives the
 * names the scaffold writes. Throws a NameError saying what is wrong.
 */
export function parseServiceName(full: string): ServiceName {
  const example = "e.g. acme.billing.v1.BillingService";
  const dot = full.lastIndexOf(".");
  if (dot <= 0) throw new NameError(`"${full}" is not package.Service: give the fully-qualified name, ${example}`);
  const pkg = full.slice(0, dot);
  const service = full.slice(dot + 1);
  const parts = pkg.split(".");
  const bad = parts.find((p) => !PART.test(p));
  if (bad !== undefined) {
    throw new NameError(
      `package "${pkg}": "${bad}" must be lower case letters, digits and _, starting with a letter (${example})`,
    );
  }
  if (!VERSION.test(parts[parts.length - 1]) || parts.length < 2) {
    throw new NameError(
      `package "${pkg}" must be a name followed by a version such as v1 (buf lint PACKAGE_VERSION_SUFFIX), ${example}`,
    );
  }
  if (RESERVED.includes(parts[0])) {
    throw new NameError(`package "${pkg}": ${parts[0]}.* is taken by the APIs the gateway speaks itself; use your own`);
  }
  if (!SERVICE.test(service) || service === "Service") {
    throw new NameError(
      `service "${service}" must be PascalCase and end in Service (buf lint SERVICE_PASCAL_CASE, SERVICE_SUFFIX), ${example}`,
    );
  }
  const short = parts[parts.length - 2];
  const dir = parts.join("/");
  return {
    full,
    pkg,
    service,
    short,
    protoPath: `proto/${dir}/${short}.proto`,
    genModule: `${dir}/${short}_pb`,
    fileExport: `file_${parts.join("_")}_${short}`,
  };
}
