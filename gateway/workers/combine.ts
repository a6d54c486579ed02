import type { ReloadResult } from "../snapshot/reload.js";

/**
 * One reload's outcome for the group, from each worker's (undefined: it did
 * not answer) and what the primary sees changed (`changed`, which also names
 * what workers never see: admin, workers).
 *
 * Workers reload the same config the same way, so they agree unless
 * something outside the config differs (a port taken between two binds):
 * - every worker rejected it: rejected, with their problems;
 * - some did and some did not: reloaded, and the notes say which workers
 *   kept the old config and why, so the operator can act (the primary
 *   follows the majority's config: it is what new workers start with);
 * - none changed anything and the primary sees no change: unchanged.
 */
export function combineReloads(
  answers: ReadonlyArray<readonly [number, ReloadResult | undefined]>,
  changed: readonly string[],
): ReloadResult {
  const results = answers.map(([id, r]) => [id, r ?? noAnswer(id)] as const);
  const refused = results.filter(([, r]) => r.status === "rejected");
  if (results.length > 0 && refused.length === results.length) {
    return { status: "rejected", changed: [], problems: unique(refused.flatMap(([, r]) => r.problems)), notes: [] };
  }
  const all = unique([...changed, ...results.flatMap(([, r]) => r.changed)]);
  const reloaded = results.some(([, r]) => r.status === "reloaded");
  if (!reloaded && all.length === 0) return { status: "unchanged", changed: [], problems: [], notes: [] };
  const notes = unique(results.flatMap(([, r]) => r.notes));
  for (const [id, r] of refused) for (const p of r.problems) notes.push(`worker ${id} kept the old config: ${p}`);
  return { status: "reloaded", changed: all, problems: [], notes };
}

function noAnswer(id: number): ReloadResult {
  return { status: "rejected", changed: [], problems: [`worker ${id} did not answer the reload`], notes: [] };
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
