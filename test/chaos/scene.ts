import { afterEach } from "vitest";
import type { ReplicaProcess } from "./replica-process.js";
import type { ChaosGateway } from "./gateway.js";

/** What one chaos test starts: replica processes and a gateway. */
export interface Scene {
  replicas: ReplicaProcess[];
  gw: ChaosGateway | undefined;
}

/**
 * A scene for each test of the calling describe block, torn down after each:
 * the gateway closed, every replica killed, whatever the test got to.
 */
export function chaosScene(): Scene {
  const scene: Scene = { replicas: [], gw: undefined };
  afterEach(async () => {
    await scene.gw?.close();
    await Promise.all(scene.replicas.map((r) => r.kill()));
    scene.replicas = [];
    scene.gw = undefined;
  });
  return scene;
}
