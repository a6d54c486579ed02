import type { DescFile } from "@bufbuild/protobuf";
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import type { GatewayConfig } from "../config/types.js";
import type { ClusterEvent } from "../cluster/endpoint-set.js";
import { type Conflict, mergeDescriptors } from "../descriptors/descriptor-merge.js";
import type { EndpointReflection, LearnedSource } from "../descriptors/reflection-manager.js";
import { MethodCatalogue, baseSources } from "../route/method-catalogue.js";

/** Where the method catalogue stands with what reflection taught, for the admin view (Gateway.catalogueStatus()). */
export interface CatalogueStatus {
  /** ok: the catalogue holds everything learned; conflict: the last lesson was refused and the catalogue stayed as it was. */
  state: "ok" | "conflict";
  /** When the state last changed (ISO 8601). */
  since: string;
  /** Services the catalogue knows only from reflection. */
  learnedServices: string[];
  /** Names two sources define differently, with both sources, while state is conflict. */
  conflicts: Conflict[];
  /** Endpoints whose answer was left out because a file imports one nobody has. */
  unresolved: string[];
  /** How asking each endpoint of each `descriptors: reflection` cluster is going. */
  endpoints: EndpointReflection[];
}

/**
 * Builds method catalogues and decides what reflection may change
 * (docs/DESIGN.md, "Descriptors from reflection"). A new lesson that
 * conflicts with what the gateway has is refused whole: the catalogue stays
 * as it was, both sources are logged once, and status() shows them. A new
 * config starts from the last lessons taken, minus clusters that no longer
 * learn, and leaves out (and reports) any that now conflict with its
 * descriptor sets: a valid config is never refused for what an upstream says.
 */
export class CatalogueKeeper {
  /** The lessons the current catalogue was built with. */
  private taught: LearnedSource[] = [];
  private state: CatalogueStatus["state"] = "ok";
  private since = new Date().toISOString();
  private conflicts: Conflict[] = [];
  private unresolved: string[] = [];
  private learnedServices: string[] = [];
  private lastSaid = "";

  constructor(
    private readonly descriptors: readonly DescFile[],
    private readonly onEvent: ClusterEvent,
  ) {}

  /** The catalogue for a new config, with what was learned before. */
  forConfig(config: GatewayConfig): MethodCatalogue {
    const learning = (s: LearnedSource) => config.clusters.get(s.cluster)?.descriptors !== undefined;
    const merged = mergeDescriptors(baseSources(config.descriptorSets, this.descriptors), this.taught.filter(learning));
    this.taught = this.taught.filter((s) => merged.taken.includes(s.name));
    this.report(merged.conflicts, merged.unresolved, "left out of the catalogue for the new config");
    return this.build(config, merged.files);
  }

  /** A catalogue with `sources` as the lessons, or undefined when they conflict (keep the current one). */
  relearn(config: GatewayConfig, sources: readonly LearnedSource[]): MethodCatalogue | undefined {
    if (sameLessons(sources, this.taught)) {
      this.report([], this.unresolved, "left out of the catalogue");
      return undefined;
    }
    const merged = mergeDescriptors(baseSources(config.descriptorSets, this.descriptors), sources);
    if (merged.conflicts.length > 0) {
      this.report(merged.conflicts, [], "the method catalogue stays as it was");
      return undefined;
    }
    this.report([], merged.unresolved, "left out of the catalogue");
    const before = this.learnedServices;
    this.taught = sources.filter((s) => merged.taken.includes(s.name));
    const catalogue = this.build(config, merged.files);
    const added = this.learnedServices.filter((s) => !before.includes(s));
    const removed = before.filter((s) => !this.learnedServices.includes(s));
    const known = this.learnedServices.length > 0 ? this.learnedServices.join(", ") : "no service";
    const changes = [
      ...(added.length ? [`added ${added.join(", ")}`] : []),
      ...(removed.length ? [`removed ${removed.join(", ")}`] : []),
    ];
    this.onEvent(
      `method catalogue rebuilt from the server reflection of ${this.taught.length} endpoint(s): knows ${known}${changes.length ? ` (${changes.join("; ")})` : " (descriptors changed)"}`,
      { event: "reflection", state: "learned" },
    );
    return catalogue;
  }

  status(endpoints: EndpointReflection[] = []): CatalogueStatus {
    return {
      state: this.state,
      since: this.since,
      learnedServices: [...this.learnedServices],
      conflicts: this.conflicts.map((c) => ({ name: c.name, sources: [c.sources[0], c.sources[1]] })),
      unresolved: [...this.unresolved],
      endpoints,
    };
  }

  private build(config: GatewayConfig, learned: FileDescriptorProto[]): MethodCatalogue {
    const catalogue = new MethodCatalogue(config.descriptorSets, this.descriptors, learned);
    this.learnedServices = [...catalogue.learnedServices];
    return catalogue;
  }

  /** Records the state, and logs it when it says something new. */
  private report(conflicts: Conflict[], unresolved: string[], consequence: string): void {
    const state = conflicts.length > 0 ? "conflict" : "ok";
    if (state !== this.state) this.since = new Date().toISOString();
    this.state = state;
    this.conflicts = conflicts;
    this.unresolved = unresolved;
    const lines = [
      ...conflicts.map(
        (c) =>
          `server reflection conflict, ${consequence}: ${c.name} is defined differently by ${c.sources[0]} and by ${c.sources[1]}`,
      ),
      ...unresolved.map((u) => `server reflection answer ${consequence}: ${u}`),
    ];
    const said = lines.join("\n");
    if (said !== this.lastSaid) lines.forEach((l) => this.onEvent(l, { event: "reflection", state: "conflict" }));
    this.lastSaid = said;
  }
}

/** The same endpoints with the same answers (an answer's files are kept as one array until it changes). */
function sameLessons(a: readonly LearnedSource[], b: readonly LearnedSource[]): boolean {
  return a.length === b.length && a.every((s, i) => s.name === b[i].name && s.files === b[i].files);
}
