import type { Reporter, File, Task } from "vitest";

/**
 * Ends every run with one plain "N passed, N failed, N skipped" line, the
 * form CI reads to tell a real run from one that ran nothing.
 */
export default class SummaryReporter implements Reporter {
  onFinished(files: File[] = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    // A test that never ran because its suite's hook failed counts as failed.
    const walk = (t: Task, suiteFailed: boolean) => {
      if (t.type === "test") {
        if (t.mode === "skip" || t.mode === "todo") skipped++;
        else if (t.result?.state === "pass") passed++;
        else if (t.result?.state === "fail" || suiteFailed) failed++;
        else skipped++;
        return;
      }
      if ("tasks" in t) for (const c of t.tasks) walk(c, suiteFailed || t.result?.state === "fail");
    };
    for (const f of files) {
      walk(f, false);
      // A file that failed to load has no tests but must still count.
      if (f.result?.state === "fail" && f.tasks.length === 0) failed++;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
