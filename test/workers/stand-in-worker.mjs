// A worker process for gateway/workers/supervisor.spec.ts: speaks the
// primary's protocol (workers/messages.ts) without a gateway behind it.
//   argv[2]: "serve" (hello, then serving on start), "fail" (hello, then
//            failed + exit 1 on start), "deaf" (hello, then ignores
//            everything, SIGTERM included)
//   argv[3]: a file; while it exists, the worker exits 1 at once (a crash loop)
import { existsSync } from "node:fs";

const [mode, crashFile] = process.argv.slice(2);
if (crashFile && existsSync(crashFile)) process.exit(1);
if (mode === "deaf") process.on("SIGTERM", () => {});
else process.on("SIGTERM", () => process.exit(0));
process.on("message", (m) => {
  if (mode === "deaf") return;
  if (m.type === "switchyard:start") {
    if (mode === "fail") process.send({ type: "switchyard:failed", message: "cannot serve" }, () => process.exit(1));
    else process.send({ type: "switchyard:serving" });
  } else if (m.type === "switchyard:report") {
    process.send({ type: "switchyard:report", seq: m.seq, report: { worker: m.seq, pid: process.pid } });
  }
});
process.send({ type: "switchyard:hello" });
