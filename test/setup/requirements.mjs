// What the tests need from the machine beyond node_modules, one row per tool.
// test/setup/ensure.mjs checks every row at the start of each `npm test` and
// installs or builds what is missing. To add a tool, add a row:
//
//   name    what the progress lines call it
//   why     which tests need it
//   detect  () => where the tool is, or undefined when it is missing
//   apt     the Debian package that provides it (apt-get install, as root), or
//   build   a script that builds it into .cache/ (kept there: built once),
//           with needs: { tool, hint }, the tool the build runs and where to get it
import { onPath, scriptSays } from "./detect.mjs";

const GO = { tool: "go", hint: "Go >= 1.21 from https://go.dev/dl/" };

export const REQUIREMENTS = [
  { name: "openssl", why: "TLS tests", detect: () => onPath("openssl"), apt: "openssl" },
  { name: "chromium", why: "browser tests", detect: () => onPath("chromium"), apt: "chromium" },
  { name: "etcd", why: "etcd tests", detect: () => onPath("etcd"), apt: "etcd-server" },
  { name: "redis-server", why: "Redis tests", detect: () => onPath("redis-server"), apt: "redis-server" },
  { name: "ip", why: "Kubernetes discovery tests (network namespace)", detect: () => onPath("ip"), apt: "iproute2" },
  // Debian's promtool installs in under a minute; building it from the Go module
  // proxy fetches 1.8 GB of modules and took 37 minutes (10 CPU-minutes) here.
  { name: "promtool", why: "metrics exposition check", detect: () => onPath("promtool"), apt: "prometheus" },
  {
    name: "connectconformance",
    why: "conformance suite, npm run test:conformance",
    detect: () =>
      scriptSays("test/conformance/install.sh", ["--check"], ".cache/go/bin/connectconformance, referenceserver"),
    build: "test/conformance/install.sh",
    needs: GO,
  },
  {
    name: "reflection-upstream + grpcurl",
    why: "server reflection tests (test/reflection)",
    detect: () =>
      scriptSays("test/reflection/build.sh", ["--check"], ".cache/bin/reflection-upstream, .cache/bin/grpcurl"),
    build: "test/reflection/build.sh",
    needs: GO,
  },
  {
    name: "otelcol-switchyard",
    why: "tracing tests (an OpenTelemetry Collector: OTLP receiver, file exporter)",
    detect: () => scriptSays("test/tracing/build-collector.sh", ["--check"], ".cache/bin/otelcol-switchyard"),
    build: "test/tracing/build-collector.sh",
    needs: GO,
  },
  {
    name: "h2spec",
    why: "HTTP/2 conformance tests (test/h2spec)",
    detect: () => scriptSays("test/h2spec/build.sh", ["--check"], ".cache/bin/h2spec"),
    build: "test/h2spec/build.sh",
    needs: GO,
  },
  {
    name: "kube-apiserver",
    why: "Kubernetes discovery tests",
    detect: () => scriptSays("test/kubernetes/build-apiserver.sh", ["--check"], ".cache/bin/kube-apiserver"),
    build: "test/kubernetes/build-apiserver.sh",
    needs: GO,
  },
  {
    name: "kustomize",
    why: "deploy/ manifest tests (test/kubernetes/deploy.test.ts)",
    detect: () => scriptSays("test/kubernetes/build-kustomize.sh", ["--check"], ".cache/bin/kustomize"),
    build: "test/kubernetes/build-kustomize.sh",
    needs: GO,
  },
];
