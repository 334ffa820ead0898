// The search page (/search): Jaeger UI's form on the left, results on the
// right (scatter plot, then the list). The URL holds the whole search, so
// a search is a link; the results come from GET /api/v3/trace-summaries.

import { useEffect, useMemo, useState } from "preact/hooks";
import { fetchJaegerTraces, fetchOperations, fetchServices, fetchTraceSummaries } from "../api";
import { serviceColor } from "../colors";
import { ApiError } from "../http";
import type { PageProps } from "../page";
import { link } from "../router";
import { EmptyState, ErrorMessage, Loading, markRendered } from "../states";
import { formatAgo, formatDateTime, formatDuration, fromLocalInput, toLocalInput } from "./format";
import { apiParams, formFromParams, hasSearch, lookbackMillis, lookbackPresets, maxLimit, paramsFromForm, searchKey, validate, type SearchForm } from "./query";
import { isSortOrder, sortOrders, sortResults, toResult, type Result, type SortOrder } from "./results";
import { summarizeJaeger, type JaegerTrace } from "./byid";
import { ScatterPlot } from "./scatter";
import { VirtualList } from "./virtual";

type Load<T> = { state: "idle" } | { state: "loading" } | { state: "error"; error: unknown } | { state: "done"; value: T };

export function SearchPage({ params, navigate }: PageProps) {
  const key = searchKey(params);
  const [form, setForm] = useState<SearchForm>(() => formFromParams(params));
  const [formError, setFormError] = useState<string | null>(null);
  const [services, setServices] = useState<Load<string[]>>({ state: "loading" });
  const [operations, setOperations] = useState<Load<string[]>>({ state: "idle" });
  const [results, setResults] = useState<Load<Result[]>>({ state: "idle" });
  const [refresh, setRefresh] = useState(0);
  // Which search the results answer: a new URL must not be marked rendered
  // with the previous search's results.
  const [resultsFor, setResultsFor] = useState("");
  const runKey = `${key}#${refresh}`;

  // Back/forward or a link changed the search: the form follows the URL.
  useEffect(() => {
    setForm(formFromParams(params));
    setFormError(null);
  }, [key]);

  useEffect(() => {
    const ac = new AbortController();
    fetchServices(ac.signal).then(
      (v) => setServices({ state: "done", value: v }),
      (e) => !ac.signal.aborted && setServices({ state: "error", error: e }),
    );
    return () => ac.abort();
  }, []);

  useEffect(() => {
    if (!form.service) {
      setOperations({ state: "idle" });
      return;
    }
    const ac = new AbortController();
    setOperations({ state: "loading" });
    fetchOperations(form.service, ac.signal).then(
      (v) => setOperations({ state: "done", value: v }),
      (e) => !ac.signal.aborted && setOperations({ state: "error", error: e }),
    );
    return () => ac.abort();
  }, [form.service]);

  // Run the search the URL describes.
  useEffect(() => {
    const finish = (l: Load<Result[]>) => {
      setResults(l);
      setResultsFor(runKey);
    };
    if (!hasSearch(params)) {
      finish({ state: "idle" });
      return;
    }
    const ac = new AbortController();
    const ids = params.getAll("traceID").filter((s) => s !== "");
    if (ids.length > 0) {
      // Jaeger UI's /search?traceID=…: exactly these traces.
      setResults({ state: "loading" });
      fetchJaegerTraces(ids, ac.signal).then(
        (v) => finish({ state: "done", value: v.data.map((t) => summarizeJaeger(t as JaegerTrace)).flatMap((x) => (x ? [toResult(x)] : [])) }),
        (e) => !ac.signal.aborted && finish({ state: "error", error: e }),
      );
      return () => ac.abort();
    }
    let q: Record<string, string>;
    try {
      q = apiParams(formFromParams(params), Date.now());
    } catch (e) {
      finish({ state: "error", error: e });
      return;
    }
    setResults({ state: "loading" });
    fetchTraceSummaries(q, ac.signal).then(
      (v) => finish({ state: "done", value: v.map(toResult) }),
      (e) => !ac.signal.aborted && finish({ state: "error", error: e }),
    );
    return () => ac.abort();
  }, [runKey]);

  useEffect(() => {
    if (resultsFor !== runKey || results.state === "loading") return;
    if (results.state === "idle" && services.state === "loading") return;
    markRendered("search");
  }, [results, resultsFor, services.state, params.toString()]);

  const submit = (e: Event) => {
    e.preventDefault();
    try {
      validate(form, Date.now());
      const q = paramsFromForm(form);
      const sort = params.get("sort");
      if (sort) q.set("sort", sort);
      setFormError(null);
      // The same search again refreshes it: its window moves with "now".
      if (searchKey(q) === key) setRefresh((n) => n + 1);
      else navigate(`/search?${q.toString()}`);
    } catch (err) {
      setFormError((err as Error).message);
    }
  };

  const set = (k: keyof SearchForm) => (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    setForm((f) => ({ ...f, [k]: v, ...(k === "service" ? { operation: "" } : {}) }));
  };

  const lookbacks = lookbackPresets.some((p) => p.value === form.lookback)
    ? lookbackPresets
    : [{ value: form.lookback, label: `Last ${form.lookback}` }, ...lookbackPresets];

  const serviceOptions = services.state === "done" ? services.value : [];
  return (
    <div class="search-page">
      <aside class="search-side">
        <form class="search-form panel" data-testid="search-form" onSubmit={submit} noValidate>
          <div class="search-tabs">
            <span class="search-tab active">Search</span>
            <a class="search-tab" href={link("/upload")}>
              JSON File
            </a>
          </div>
          <label>
            Service
            <select data-testid="search-service" value={form.service} onChange={set("service")} disabled={services.state === "loading"}>
              <option value="">All services</option>
              {form.service && !serviceOptions.includes(form.service) && <option value={form.service}>{form.service}</option>}
              {serviceOptions.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          {services.state === "error" && <ErrorMessage error={services.error}>Cannot list services: </ErrorMessage>}
          <label>
            Operation
            <select data-testid="search-operation" value={form.operation} onChange={set("operation")} disabled={!form.service || operations.state === "loading"}>
              <option value="">All operations</option>
              {form.operation && !(operations.state === "done" && operations.value.includes(form.operation)) && (
                <option value={form.operation}>{form.operation}</option>
              )}
              {operations.state === "done" &&
                operations.value.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
            </select>
          </label>
          {operations.state === "error" && <ErrorMessage error={operations.error}>Cannot list operations: </ErrorMessage>}
          <label>
            Tags
            <input
              type="text"
              data-testid="search-tags"
              value={form.tags}
              onInput={set("tags")}
              placeholder='http.status_code=200 error=true'
              spellcheck={false}
              title='Values in logfmt: key=value, with "quotes" around values with spaces'
            />
          </label>
          <label>
            Lookback
            <select data-testid="search-lookback" value={form.lookback} onChange={(e) => changeLookback(e, form, setForm)}>
              {lookbacks.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          {form.lookback === "custom" && (
            <div class="search-custom">
              <label>
                Start
                <input
                  type="datetime-local"
                  step={1}
                  data-testid="search-start"
                  value={form.start ? toLocalInput(Number(form.start)) : ""}
                  onInput={(e) => setForm((f) => ({ ...f, start: microsInput(e) }))}
                />
              </label>
              <label>
                End
                <input
                  type="datetime-local"
                  step={1}
                  data-testid="search-end"
                  value={form.end ? toLocalInput(Number(form.end)) : ""}
                  onInput={(e) => setForm((f) => ({ ...f, end: microsInput(e) }))}
                />
              </label>
            </div>
          )}
          <div class="search-row">
            <label>
              Min duration
              <input type="text" data-testid="search-min-duration" value={form.minDuration} onInput={set("minDuration")} placeholder="e.g. 100ms" spellcheck={false} />
            </label>
            <label>
              Max duration
              <input type="text" data-testid="search-max-duration" value={form.maxDuration} onInput={set("maxDuration")} placeholder="e.g. 1.5s" spellcheck={false} />
            </label>
          </div>
          <label>
            Limit results
            <input type="number" min={1} max={maxLimit} data-testid="search-limit" value={form.limit} onInput={set("limit")} />
          </label>
          {formError && <ErrorMessage>{formError}</ErrorMessage>}
          <button type="submit" class="primary" data-testid="search-submit">
            Find Traces
          </button>
        </form>
      </aside>
      <section class="search-main">
        <Results load={results} params={params} navigate={navigate} searched={hasSearch(params)} />
      </section>
    </div>
  );
}

function changeLookback(e: Event, form: SearchForm, setForm: (f: SearchForm) => void) {
  const v = (e.currentTarget as HTMLSelectElement).value;
  if (v === "custom" && form.lookback !== "custom") {
    // Start the custom range as the window that was selected, ending now.
    const now = Date.now() * 1000;
    let span = 3600e6;
    try {
      span = lookbackMillis(form.lookback) * 1000;
    } catch {
      // keep an hour
    }
    setForm({ ...form, lookback: v, start: String(Math.round(now - span)), end: String(Math.round(now)) });
  } else setForm({ ...form, lookback: v });
}

function microsInput(e: Event): string {
  const us = fromLocalInput((e.currentTarget as HTMLInputElement).value);
  return Number.isNaN(us) ? "" : String(us);
}

const rowHeight = 92;

function Results({ load, params, navigate, searched }: { load: Load<Result[]>; params: URLSearchParams; navigate: PageProps["navigate"]; searched: boolean }) {
  const sort: SortOrder = isSortOrder(params.get("sort")) ? (params.get("sort") as SortOrder) : "recent";
  const [selected, setSelected] = useState<string[]>([]);
  const [download, setDownload] = useState<Load<null>>({ state: "idle" });
  const value = load.state === "done" ? load.value : null;
  const sorted = useMemo(() => (value ? sortResults(value, sort) : []), [value, sort]);
  const maxDuration = useMemo(() => sorted.reduce((m, r) => Math.max(m, r.durationUs), 0), [sorted]);
  useEffect(() => setSelected([]), [value]);

  if (!searched) {
    return (
      <EmptyState>
        Choose a service (or none, to search them all), a time range and any tags, then <b>Find Traces</b>. Or open a trace by ID from a link such as{" "}
        <code>/trace/&lt;trace-id&gt;</code>.
      </EmptyState>
    );
  }
  if (load.state === "loading" || load.state === "idle") return <Loading what="traces" />;
  if (load.state === "error") {
    return <ErrorMessage error={load.error}>{load.error instanceof ApiError ? "The search failed: " : "This search cannot run: "}</ErrorMessage>;
  }
  if (sorted.length === 0) return <EmptyState>No traces match this search. Widen the time range, or remove a condition.</EmptyState>;

  const nowMs = Date.now();
  const open = (id: string) => navigate(`/trace/${id}`);
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id].slice(-2)));
  const setSort = (e: Event) => {
    const q = new URLSearchParams(params);
    q.set("sort", (e.currentTarget as HTMLSelectElement).value);
    navigate(`/search?${q.toString()}`, { replace: true });
  };
  const doDownload = async () => {
    setDownload({ state: "loading" });
    try {
      const body = await fetchJaegerTraces(sorted.map((r) => r.id));
      const blob = new Blob([JSON.stringify(body, null, 2)], { type: "application/json" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `traces-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      setDownload({ state: "idle" });
    } catch (e) {
      setDownload({ state: "error", error: e });
    }
  };

  return (
    <div class="results" data-testid="search-results">
      <ScatterPlot results={sorted} onOpen={open} />
      <div class="results-bar">
        <span class="results-count">
          {sorted.length} trace{sorted.length === 1 ? "" : "s"}
        </span>
        <label class="results-sort">
          Sort
          <select data-testid="sort-select" value={sort} onChange={setSort}>
            {sortOrders.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          data-testid="compare-button"
          disabled={selected.length !== 2}
          title={selected.length === 2 ? "Compare the two selected traces" : "Select two traces to compare them"}
          onClick={() => navigate(`/trace/${selected[0]}...${selected[1]}`)}
        >
          Compare{selected.length > 0 ? ` (${selected.length}/2)` : ""}
        </button>
        <button type="button" data-testid="download-json" onClick={doDownload} disabled={download.state === "loading"} title="Download these traces as Jaeger JSON (opens in the JSON File view)">
          {download.state === "loading" ? "Preparing…" : "Download JSON"}
        </button>
      </div>
      {download.state === "error" && <ErrorMessage error={download.error}>The download failed: </ErrorMessage>}
      <VirtualList
        items={sorted}
        rowHeight={rowHeight}
        testid="result-list"
        render={(r) => <ResultItem r={r} maxDuration={maxDuration} nowMs={nowMs} checked={selected.includes(r.id)} onToggle={toggle} />}
      />
    </div>
  );
}

function ResultItem({ r, maxDuration, nowMs, checked, onToggle }: { r: Result; maxDuration: number; nowMs: number; checked: boolean; onToggle: (id: string) => void }) {
  const title = r.rootService ? `${r.rootService}: ${r.rootOperation}` : "(no root span)";
  const shown = r.services.slice(0, 6);
  return (
    <div class={r.errorCount > 0 ? "result-item has-error" : "result-item"} data-testid="result-item" data-trace-id={r.id}>
      <div class="result-head">
        <input type="checkbox" data-testid="result-select" checked={checked} onChange={() => onToggle(r.id)} aria-label={`Select trace ${r.id} to compare`} />
        <a class="result-title" href={link(`/trace/${r.id}`)}>
          <span class="result-name">{title}</span> <span class="result-id">{r.id.slice(0, 7)}</span>
        </a>
        <span class="result-duration">{formatDuration(r.durationUs)}</span>
        <span class="result-bar" style={{ width: `${maxDuration ? (100 * r.durationUs) / maxDuration : 0}%` }} aria-hidden="true" />
      </div>
      <div class="result-body">
        <span class="result-spans">
          {r.spanCount} span{r.spanCount === 1 ? "" : "s"}
        </span>
        {r.errorCount > 0 && (
          <span class="result-errors">
            {r.errorCount} error{r.errorCount === 1 ? "" : "s"}
          </span>
        )}
        <span class="result-services">
          {shown.map((s) => (
            <span key={s.name} class="badge" style={{ borderLeftColor: serviceColor(s.name) }} title={`${s.name}: ${s.spanCount} spans${s.errorCount ? `, ${s.errorCount} errors` : ""}`}>
              {s.name} <b>{s.spanCount}</b>
            </span>
          ))}
          {r.services.length > shown.length && <span class="badge more">+{r.services.length - shown.length} more</span>}
        </span>
        <span class="result-time" title={formatDateTime(r.startUs)}>
          {r.startUs ? (
            <>
              {formatDateTime(r.startUs)}
              <br />
              <span class="muted">{formatAgo(r.startUs, nowMs)}</span>
            </>
          ) : (
            "–"
          )}
        </span>
      </div>
    </div>
  );
}
