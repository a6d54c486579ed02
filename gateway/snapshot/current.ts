import type { GatewayConfig } from "../config/types.js";
import { type Snapshot, type SnapshotInputs, buildSnapshot } from "./snapshot.js";

/**
 * The one mutable reference to configuration: calls read `snapshot` once;
 * swap() builds the next snapshot and replaces it. Nothing in flight sees
 * the change.
 */
export class CurrentSnapshot {
  private value: Snapshot;

  constructor(
    config: GatewayConfig,
    private readonly inputs: SnapshotInputs,
  ) {
    this.value = buildSnapshot(config, inputs);
  }

  get snapshot(): Snapshot {
    return this.value;
  }

  /** Builds a snapshot of `config` and makes it current; returns it. */
  swap(config: GatewayConfig): Snapshot {
    this.value = buildSnapshot(config, this.inputs, this.value);
    return this.value;
  }
}
