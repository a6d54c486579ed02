import { BreakerState, EndpointState, type Cluster, type Endpoint } from "../gen/switchyard/admin/v1/admin_pb.js";
import { Series, niceMax, polylinePoints } from "./history.js";

const SVG = "http://www.w3.org/2000/svg";

/** What a row's drain button asks for; the page wires it to the admin API. */
export type DrainAction = (cluster: string, address: string, drain: boolean) => Promise<Endpoint>;

/** "healthy", "breaker_open", ...: the names the metrics and the README use. */
export function stateName(s: EndpointState): string {
  return (EndpointState[s] ?? "unspecified").toLowerCase();
}

export function breakerName(s: BreakerState): string {
  return (BreakerState[s] ?? "unspecified").toLowerCase();
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** An SVG chart of several series sharing one scale. */
class Chart {
  readonly svg: SVGSVGElement;
  private readonly lines: SVGPolylineElement[];

  constructor(
    cls: string,
    private readonly width: number,
    private readonly height: number,
    colours: string[],
  ) {
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("class", cls);
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.setAttribute("preserveAspectRatio", "none");
    this.lines = colours.map((c) => {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("class", c);
      line.setAttribute("stroke", "currentColor");
      this.svg.appendChild(line);
      return line;
    });
  }

  /** Each series on its own scale when `separate`, else on the largest one's. */
  draw(series: Series[], separate = false): void {
    const shared = niceMax(...series.map((s) => s.values));
    series.forEach((s, i) => {
      const max = separate ? niceMax(s.values) : shared;
      this.lines[i]!.setAttribute("points", polylinePoints(s.values, this.width, this.height, max));
    });
  }
}

const num = (v: number, digits = 1) => (v >= 100 ? v.toFixed(0) : v.toFixed(digits));
const ms = (v: number) => (v === 0 ? "–" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${num(v)} ms`);

/** One endpoint's row: its live numbers, a chart of calls/s and p99, and a drain button. */
class EndpointRow {
  readonly tr = el("tr");
  private readonly cells: Record<string, HTMLTableCellElement> = {};
  private readonly state = el("span", "badge");
  private readonly breaker = el("span", "badge");
  private readonly button = el("button");
  private readonly error = el("div", "error");
  private readonly calls = new Series();
  private readonly p99 = new Series();
  private readonly chart = new Chart("spark", 160, 30, ["c-calls", "c-p99"]);
  private drained = false;

  constructor(
    private readonly cluster: string,
    readonly address: string,
    drain: DrainAction,
  ) {
    this.tr.dataset.address = address;
    const add = (key: string, cls = "num") => {
      const td = el("td", cls);
      this.cells[key] = td;
      this.tr.appendChild(td);
      return td;
    };
    add("address", "addr").textContent = address;
    add("priority");
    add("weight");
    add("state", "").append(this.state);
    add("breaker", "").append(this.breaker);
    add("inFlight");
    add("calls");
    add("p50");
    add("p99");
    add("errors");
    add("ejections");
    add("chart", "").append(this.chart.svg);
    const action = add("action", "");
    action.append(this.button, this.error);
    add("why", "why");
    this.button.addEventListener("click", () => {
      const want = !this.drained;
      this.button.disabled = true;
      this.error.textContent = "";
      drain(this.cluster, this.address, want)
        .then((e) => this.update(e, false))
        .catch((err: unknown) => (this.error.textContent = err instanceof Error ? err.message : String(err)))
        .finally(() => (this.button.disabled = false));
    });
  }

  /** Shows `e`; `tick` adds a point to the charts (a WatchClusters message, not a drain's answer). */
  update(e: Endpoint, tick = true): void {
    const state = stateName(e.state);
    const breaker = breakerName(e.breaker);
    this.tr.dataset.state = state;
    this.tr.dataset.breaker = breaker;
    this.state.dataset.v = state;
    this.state.textContent = state.replace("_", " ");
    this.breaker.dataset.v = breaker;
    this.breaker.textContent = breaker.replace("_", "-");
    const c = this.cells;
    c.priority!.textContent = String(e.priority);
    c.weight!.textContent = String(e.weight);
    c.inFlight!.textContent = String(e.inFlight);
    c.calls!.textContent = num(e.callsPerSecond);
    c.p50!.textContent = ms(e.latencyP50Ms);
    c.p99!.textContent = ms(e.latencyP99Ms);
    c.errors!.textContent = `${num(e.errorRate * 100)}%`;
    c.ejections!.textContent = String(e.ejectionCount);
    c.why!.textContent = e.unavailableReason;
    c.why!.title = e.unavailableReason;
    this.drained = e.drained;
    this.button.textContent = e.drained ? "Undrain" : "Drain";
    this.button.dataset.action = e.drained ? "undrain" : "drain";
    if (tick) {
      this.calls.push(e.callsPerSecond);
      this.p99.push(e.latencyP99Ms);
      this.chart.draw([this.calls, this.p99], true);
    }
  }
}

const HEADINGS = [
  ["endpoint", ""],
  ["prio", "num"],
  ["weight", "num"],
  ["state", ""],
  ["breaker", ""],
  ["in flight", "num"],
  ["calls/s", "num"],
  ["p50", "num"],
  ["p99", "num"],
  ["errors", "num"],
  ["ejections", "num"],
  ["last 5 min: calls/s, p99", ""],
  ["", ""],
  ["", ""],
] as const;

/** One cluster: its totals, a chart of calls, retries and hedges per second, and a row per endpoint. */
export class ClusterPanel {
  readonly section = el("section", "cluster");
  private readonly meta = el("span", "meta");
  private readonly totals = el("div", "totals");
  private readonly tbody = el("tbody");
  private readonly rows = new Map<string, EndpointRow>();
  private readonly calls = new Series();
  private readonly retries = new Series();
  private readonly hedges = new Series();
  private readonly chart = new Chart("chart", 600, 70, ["c-calls", "c-retries", "c-hedges"]);

  constructor(
    readonly name: string,
    private readonly drain: DrainAction,
  ) {
    this.section.dataset.cluster = name;
    const head = el("div", "cluster-head");
    head.append(el("h2", "", `cluster ${name}`), this.meta, this.totals);
    const legend = el("div", "legend");
    legend.append(
      el("span", "c-calls", "calls/s"),
      el("span", "c-retries", "retries/s"),
      el("span", "c-hedges", "hedges/s"),
      document.createTextNode(" · last 5 minutes"),
    );
    const table = el("table");
    const tr = el("tr");
    for (const [text, cls] of HEADINGS) tr.append(el("th", cls, text));
    table.append(el("thead"), this.tbody);
    table.tHead!.append(tr);
    this.section.append(head, legend, this.chart.svg, table);
  }

  update(c: Cluster): void {
    this.meta.textContent = `${c.protocol} · ${c.balancer} · ${c.endpoints.length} endpoint${c.endpoints.length === 1 ? "" : "s"}`;
    const total = c.endpoints.reduce((a, e) => a + e.callsPerSecond, 0);
    this.totals.replaceChildren(
      el("span", "c-calls", `${num(total)} calls/s`),
      el("span", "c-retries", `${num(c.retriesPerSecond)} retries/s`),
      el("span", "c-hedges", `${num(c.hedgesPerSecond)} hedges/s`),
    );
    this.calls.push(total);
    this.retries.push(c.retriesPerSecond);
    this.hedges.push(c.hedgesPerSecond);
    this.chart.draw([this.calls, this.retries, this.hedges]);

    const seen = new Set<string>();
    for (const e of c.endpoints) {
      seen.add(e.address);
      let row = this.rows.get(e.address);
      if (!row) {
        row = new EndpointRow(this.name, e.address, this.drain);
        this.rows.set(e.address, row);
      }
      row.update(e);
      this.tbody.append(row.tr); // in the order the gateway lists them
    }
    for (const [address, row] of this.rows) {
      if (seen.has(address)) continue;
      row.tr.remove();
      this.rows.delete(address);
    }
    if (c.endpoints.length === 0) {
      const tr = el("tr");
      const td = el("td", "empty", "no endpoints");
      td.colSpan = HEADINGS.length;
      tr.append(td);
      this.tbody.append(tr);
    }
  }
}
