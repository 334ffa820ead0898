// The Monitor view (/monitor): a service's RED metrics as Jaeger's Service
// Performance Monitoring tab shows them — request rate, error rate and
// latency quantiles over time — and a table of its operations, all from
// the metrics API (/api/metrics/{calls,errors,latencies}).
//
// URL: /monitor?service=<name>&spanKind=server&lookback=1h
import { useEffect, useMemo, useState } from "preact/hooks";
import type { JSX } from "preact";
import type { PageProps } from "../page";
import { apiURL, getJSON } from "../http";
import { link } from "../router";
import { EmptyState, ErrorMessage, Loading, markRendered } from "../states";
import { LineChart, type ChartSeries } from "../charts/LineChart";
import { formatMs, formatNumber, formatPercent } from "../charts/format";
import { formatLookback, parseLookback } from "../charts/lookback";
import {
  chooseStep,
  operationRows,
  parseFamily,
  scale,
  serviceSeries,
  sortRows,
  type OperationRow,
  type Series,
  type SortKey,
} from "./metrics";
import "./monitor.css";

export const monitorLookbacks = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "30m", label: "Last 30 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "2h", label: "Last 2 hours" },
  { value: "6h", label: "Last 6 hours" },
  { value: "12h", label: "Last 12 hours" },
  { value: "1d", label: "Last day" },
  { value: "2d", label: "Last 2 days" },
];
export const spanKinds = [
  { value: "server", label: "Server" },
  { value: "client", label: "Client" },
  { value: "producer", label: "Producer" },
  { value: "consumer", label: "Consumer" },
  { value: "internal", label: "Internal" },
];
const defaultLookback = "1h";

type Load<T> = { status: "loading" } | { status: "error"; message: string } | { status: "done"; value: T };

interface Metrics {
  endTs: number;
  lookbackMs: number;
  rate: ChartSeries[];
  errors: ChartSeries[];
  latency: ChartSeries[];
  rows: OperationRow[];
}

interface Query {
  service: string;
  spanKind: string;
  endTs: number;
  lookbackMs: number;
}

/** Fetches the charts' series and the operations table for one service. */
async function fetchMetrics(q: Query, signal: AbortSignal): Promise<Metrics> {
  const step = chooseStep(q.lookbackMs);
  const base = { service: q.service, spanKind: q.spanKind, endTs: q.endTs, lookback: q.lookbackMs };
  const fam = async (metric: string, extra: Record<string, string | number>, what: string): Promise<Series[]> =>
    parseFamily(await getJSON<unknown>(apiURL(`api/metrics/${metric}`, { ...base, ...extra }), { signal }), what);
  // Charts: a point per step, each summarising its own step.
  const over = { step, ratePer: step };
  // Table: step = ratePer = lookback, so the last point summarises the range.
  const whole = { step: q.lookbackMs, ratePer: q.lookbackMs, groupByOperation: "true" };
  const [calls, errors, p50, p95, p99, opCalls, opErrors, opP50, opP95, opP99] = await Promise.all([
    fam("calls", over, "request rate"),
    fam("errors", over, "error rate"),
    fam("latencies", { ...over, quantile: 0.5 }, "p50 latency"),
    fam("latencies", { ...over, quantile: 0.95 }, "p95 latency"),
    fam("latencies", { ...over, quantile: 0.99 }, "p99 latency"),
    fam("calls", whole, "operations' request rate"),
    fam("errors", whole, "operations' error rate"),
    fam("latencies", { ...whole, quantile: 0.5 }, "operations' p50 latency"),
    fam("latencies", { ...whole, quantile: 0.95 }, "operations' p95 latency"),
    fam("latencies", { ...whole, quantile: 0.99 }, "operations' p99 latency"),
  ]);
  const s = q.service;
  return {
    endTs: q.endTs,
    lookbackMs: q.lookbackMs,
    rate: [{ name: "requests/s", color: "var(--accent)", points: serviceSeries(calls, s) }],
    errors: [{ name: "errors", color: "var(--error)", points: scale(serviceSeries(errors, s), 100) }],
    latency: [
      { name: "p99", color: "var(--critical)", points: serviceSeries(p99, s) },
      { name: "p95", color: "var(--warn)", points: serviceSeries(p95, s) },
      { name: "p50", color: "var(--ok)", points: serviceSeries(p50, s) },
    ],
    rows: operationRows(s, { calls: opCalls, errors: opErrors, p50: opP50, p95: opP95, p99: opP99 }),
  };
}

export function MonitorPage(props: PageProps): JSX.Element {
  const { params, navigate } = props;
  const service = params.get("service") ?? "";
  const spanKind = params.get("spanKind") || "server";
  const lookback = params.get("lookback") || defaultLookback;
  let lookbackMs = 0;
  let paramError: string | undefined;
  try {
    lookbackMs = parseLookback(lookback);
    if (!spanKinds.some((k) => k.value === spanKind))
      throw new Error(`spanKind "${spanKind}" is not one of ${spanKinds.map((k) => k.value).join(", ")}`);
  } catch (e) {
    paramError = (e as Error).message;
  }

  const [services, setServices] = useState<Load<string[]>>({ status: "loading" });
  const [metrics, setMetrics] = useState<Load<Metrics>>({ status: "loading" });
  const [reload, setReload] = useState(0);

  const set = (changes: Record<string, string | undefined>, replace = false) => {
    const q = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === "") q.delete(k);
      else q.set(k, v);
    }
    navigate(`/monitor?${q.toString()}`, { replace });
  };

  useEffect(() => {
    const ctl = new AbortController();
    getJSON<{ data: string[] | null }>(apiURL("api/services"), { signal: ctl.signal })
      .then((b) => {
        if (ctl.signal.aborted) return;
        if (!b || (b.data !== null && !Array.isArray(b.data))) throw new Error("/api/services answered without a data list");
        setServices({ status: "done", value: [...(b.data ?? [])].sort((x, y) => x.localeCompare(y)) });
      })
      .catch((e: Error) => !ctl.signal.aborted && setServices({ status: "error", message: e.message }));
    return () => ctl.abort();
  }, [reload]);

  // Without a service in the URL, show the first one (and say so in the URL).
  useEffect(() => {
    if (!service && services.status === "done" && services.value.length > 0) set({ service: services.value[0] }, true);
  }, [service, services]);

  useEffect(() => {
    delete document.documentElement.dataset.rendered;
    if (!service || paramError) return;
    const ctl = new AbortController();
    setMetrics({ status: "loading" });
    fetchMetrics({ service, spanKind, endTs: Date.now(), lookbackMs }, ctl.signal)
      .then((m) => !ctl.signal.aborted && setMetrics({ status: "done", value: m }))
      .catch((e: Error) => !ctl.signal.aborted && setMetrics({ status: "error", message: e.message }));
    return () => ctl.abort();
  }, [service, spanKind, lookbackMs, paramError, reload]);

  useEffect(() => {
    // Rendered: the charts with their data, or the news that there is no service yet.
    if (metrics.status === "done" || (!service && services.status === "done" && services.value.length === 0)) markRendered("monitor");
  }, [metrics, services, service]);

  const serviceList = services.status === "done" ? services.value : [];
  const serviceOptions = service && !serviceList.includes(service) ? [service, ...serviceList] : serviceList;
  const lookbackOptions = monitorLookbacks.some((o) => o.value === lookback)
    ? monitorLookbacks
    : [...monitorLookbacks, { value: lookback, label: lookbackMs ? `Last ${formatLookback(lookbackMs)}` : lookback }];

  let body: JSX.Element;
  if (paramError) {
    body = <ErrorMessage>{paramError}</ErrorMessage>;
  } else if (services.status === "error") {
    body = <ErrorMessage>Could not load the services: {services.message}</ErrorMessage>;
  } else if (!service && services.status === "done" && serviceList.length === 0) {
    body = <EmptyState>No service has sent spans yet. Metrics appear here once traces are stored.</EmptyState>;
  } else if (!service || metrics.status === "loading") {
    body = <Loading what="metrics" />;
  } else if (metrics.status === "error") {
    body = <ErrorMessage>Could not load the metrics of {service}: {metrics.message}</ErrorMessage>;
  } else {
    body = <MonitorBody service={service} m={metrics.value} navigate={navigate} />;
  }

  return (
    <div class="monitor-page">
      <div class="monitor-toolbar">
        <h1>Monitor</h1>
        <label>
          Service{" "}
          <select
            data-testid="monitor-service"
            value={service}
            disabled={services.status !== "done"}
            onChange={(e) => set({ service: (e.currentTarget as HTMLSelectElement).value })}
          >
            {serviceOptions.length === 0 && <option value="">{services.status === "loading" ? "loading…" : "no services"}</option>}
            {serviceOptions.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Span kind{" "}
          <select
            data-testid="monitor-span-kind"
            value={spanKind}
            onChange={(e) => set({ spanKind: (e.currentTarget as HTMLSelectElement).value })}
          >
            {spanKinds.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Time range{" "}
          <select
            data-testid="monitor-lookback"
            value={lookback}
            onChange={(e) => set({ lookback: (e.currentTarget as HTMLSelectElement).value })}
          >
            {lookbackOptions.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setReload((n) => n + 1)} title="Fetch the metrics again">
          Refresh
        </button>
      </div>
      {body}
    </div>
  );
}

function MonitorBody({ service, m, navigate }: { service: string; m: Metrics; navigate: PageProps["navigate"] }) {
  const range: [number, number] = [m.endTs - m.lookbackMs, m.endTs];
  return (
    <>
      <div class="monitor-charts">
        <section class="monitor-card" data-testid="monitor-chart" data-metric="latency">
          <h2>Latency</h2>
          <LineChart series={m.latency} format={formatMs} timeRange={range} label={`Latency of ${service}: p50, p95 and p99 over time`} />
        </section>
        <section class="monitor-card" data-testid="monitor-chart" data-metric="errors">
          <h2>Error rate</h2>
          <LineChart
            series={m.errors}
            format={(v) => `${formatNumber(v)}%`}
            timeRange={range}
            maxValue={1}
            label={`Error rate of ${service} over time, in percent of calls`}
          />
        </section>
        <section class="monitor-card" data-testid="monitor-chart" data-metric="rate">
          <h2>Request rate</h2>
          <LineChart series={m.rate} format={(v) => `${formatNumber(v)}/s`} timeRange={range} label={`Requests per second of ${service} over time`} />
        </section>
      </div>
      <Operations service={service} rows={m.rows} navigate={navigate} />
    </>
  );
}

const columns: { key: SortKey; label: string; num: boolean }[] = [
  { key: "operation", label: "Operation", num: false },
  { key: "p50", label: "P50 latency", num: true },
  { key: "p95", label: "P95 latency", num: true },
  { key: "p99", label: "P99 latency", num: true },
  { key: "rate", label: "Request rate", num: true },
  { key: "errorRate", label: "Error rate", num: true },
  { key: "impact", label: "Impact", num: true },
];

function Operations({ service, rows, navigate }: { service: string; rows: OperationRow[]; navigate: PageProps["navigate"] }) {
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: "impact", desc: true });
  const [filter, setFilter] = useState("");
  const shown = useMemo(
    () => sortRows(rows.filter((r) => r.operation.toLowerCase().includes(filter.toLowerCase())), sort.key, sort.desc),
    [rows, sort, filter],
  );
  const open = (op: string) => navigate(`/search?service=${encodeURIComponent(service)}&operation=${encodeURIComponent(op)}`);
  return (
    <section class="monitor-ops">
      <div class="monitor-ops-head">
        <h2>Operations of {service}</h2>
        <input
          type="search"
          placeholder="Filter operations"
          aria-label="Filter operations"
          value={filter}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <table data-testid="monitor-operations">
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                key={c.key}
                class={c.num ? "num" : undefined}
                aria-sort={sort.key === c.key ? (sort.desc ? "descending" : "ascending") : "none"}
              >
                <button
                  type="button"
                  data-sort={c.key}
                  onClick={() => setSort((s) => ({ key: c.key, desc: s.key === c.key ? !s.desc : c.key !== "operation" }))}
                >
                  {c.label}
                  {sort.key === c.key ? (sort.desc ? " ▾" : " ▴") : ""}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {shown.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="empty" data-testid="empty-state">
                {rows.length === 0 ? "No calls of this kind in this time range." : "No operation matches the filter."}
              </td>
            </tr>
          ) : (
            shown.map((r) => (
              <tr key={r.operation} data-operation={r.operation}>
                <td>
                  <a
                    href={link(`/search?service=${encodeURIComponent(service)}&operation=${encodeURIComponent(r.operation)}`)}
                    onClick={(e) => {
                      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
                      e.preventDefault();
                      open(r.operation);
                    }}
                  >
                    {r.operation || "(no name)"}
                  </a>
                </td>
                <td class="num">{formatMs(r.p50)}</td>
                <td class="num">{formatMs(r.p95)}</td>
                <td class="num">{formatMs(r.p99)}</td>
                <td class="num">{r.rate === null ? "–" : `${formatNumber(r.rate)}/s`}</td>
                <td class="num">{formatPercent(r.errorRate)}</td>
                <td class="num">
                  <span class="monitor-impact" title={`${formatPercent(r.impact)} of the largest p95 × rate`}>
                    <span style={{ width: `${Math.round(r.impact * 100)}%` }} />
                  </span>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </section>
  );
}
