import type { GatewayConfig } from "../config/types.js";
import { CatalogueKeeper, type CatalogueStatus } from "./catalogue.js";
import { type Snapshot, type SnapshotInputs, buildSnapshot, withMethods } from "./snapshot.js";

/**
 * The one mutable reference to configuration: calls read `snapshot` once;
 * swap() builds the next snapshot and replaces it, and relearn() replaces it
 * with one whose method catalogue holds what reflection taught. Nothing in
 * flight sees either change.
 */
export class CurrentSnapshot {
  private value: Snapshot;
  private readonly keeper: CatalogueKeeper;

  constructor(
    config: GatewayConfig,
    private readonly inputs: SnapshotInputs,
  ) {
    this.keeper = new CatalogueKeeper(inputs.descriptors ?? [], inputs.onEvent ?? (() => {}));
    this.value = buildSnapshot(config, inputs, this.keeper.forConfig(config));
  }

  get snapshot(): Snapshot {
    return this.value;
  }

  /** Builds a snapshot of `config` and makes it current; returns it. */
  swap(config: GatewayConfig): Snapshot {
    this.value = buildSnapshot(config, this.inputs, this.keeper.forConfig(config), this.value);
    // What the endpoints say now may differ from the lessons the new catalogue kept.
    this.relearn();
    return this.value;
  }

  /**
   * What the endpoints' reflection says changed: a new snapshot with a new
   * catalogue, or none when the lessons conflict (the catalogue stays).
   */
  relearn(): Snapshot {
    const methods = this.keeper.relearn(this.value.config, this.inputs.reflection?.sources() ?? []);
    if (methods) this.value = withMethods(this.value, methods);
    return this.value;
  }

  catalogueStatus(): CatalogueStatus {
    return this.keeper.status(this.inputs.reflection?.status());
  }
}
