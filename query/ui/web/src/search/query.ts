// The search form's state, its URL (Jaeger UI's scheme, so Jaeger search
// links keep working) and the api_v3 query it becomes.
//
// URL: /search?service=&operation=&tags=<JSON map>&lookback=1h
//      [&start=<µs>&end=<µs> with lookback=custom]&minDuration=&maxDuration=&limit=20
// `tags` is a JSON object as Jaeger UI writes it; logfmt is accepted too.

import { formatLogfmt, parseLogfmt } from "./logfmt";

export interface SearchForm {
  service: string;
  operation: string;
  /** logfmt, as typed. */
  tags: string;
  /** A preset such as "1h", or "custom". */
  lookback: string;
  /** Unix µs, for lookback=custom. */
  start: string;
  end: string;
  minDuration: string;
  maxDuration: string;
  limit: string;
}

export const defaultLimit = 20;
export const maxLimit = 1500;

export const lookbackPresets: { value: string; label: string }[] = [
  { value: "5m", label: "Last 5 minutes" },
  { value: "15m", label: "Last 15 minutes" },
  { value: "30m", label: "Last 30 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "2h", label: "Last 2 hours" },
  { value: "6h", label: "Last 6 hours" },
  { value: "12h", label: "Last 12 hours" },
  { value: "1d", label: "Last 24 hours" },
  { value: "2d", label: "Last 2 days" },
  { value: "7d", label: "Last 7 days" },
  { value: "custom", label: "Custom time range" },
];

export const defaultForm: SearchForm = {
  service: "",
  operation: "",
  tags: "",
  lookback: "1h",
  start: "",
  end: "",
  minDuration: "",
  maxDuration: "",
  limit: String(defaultLimit),
};

/** The parameters that make a search; a URL with any of them runs one (traceID: Jaeger UI's list of given traces). */
const searchKeys = ["service", "operation", "tags", "tag", "lookback", "start", "end", "minDuration", "maxDuration", "limit", "traceID"];

export function hasSearch(params: URLSearchParams): boolean {
  return searchKeys.some((k) => params.has(k));
}

/** The search part of a URL, canonical, to key the search effect on. */
export function searchKey(params: URLSearchParams): string {
  const q = new URLSearchParams();
  for (const k of searchKeys) for (const v of params.getAll(k)) q.append(k, v);
  return q.toString();
}

/** The form a URL describes. Unknown or malformed values are kept so validation can name them. */
export function formFromParams(params: URLSearchParams): SearchForm {
  const get = (k: string, d: string) => params.get(k) ?? d;
  let tags = get("tags", "");
  if (tags.trim().startsWith("{")) {
    try {
      const m = JSON.parse(tags);
      if (m && typeof m === "object" && !Array.isArray(m)) {
        tags = formatLogfmt(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])));
      }
    } catch {
      // Not JSON after all: left as typed, validation will explain.
    }
  }
  // Jaeger UI links may also carry repeated tag=key:value.
  const extra = params.getAll("tag").map((t) => {
    const i = t.indexOf(":");
    return i > 0 ? formatLogfmt({ [t.slice(0, i)]: t.slice(i + 1) }) : t;
  });
  if (extra.length > 0) tags = [tags, ...extra].filter((s) => s !== "").join(" ");
  let lookback = get("lookback", defaultForm.lookback);
  const start = get("start", "");
  const end = get("end", "");
  if (!params.has("lookback") && (start || end)) lookback = "custom";
  return {
    service: get("service", ""),
    operation: get("operation", ""),
    tags,
    lookback,
    start,
    end,
    minDuration: get("minDuration", ""),
    maxDuration: get("maxDuration", ""),
    limit: get("limit", String(defaultLimit)),
  };
}

/** The URL parameters of a form (Jaeger UI's names; tags as a JSON map). Throws on invalid tags. */
export function paramsFromForm(f: SearchForm): URLSearchParams {
  const q = new URLSearchParams();
  const set = (k: string, v: string) => {
    if (v.trim() !== "") q.set(k, v.trim());
  };
  set("service", f.service);
  set("operation", f.operation);
  const tags = parseLogfmt(f.tags);
  if (Object.keys(tags).length > 0) q.set("tags", JSON.stringify(tags));
  set("lookback", f.lookback);
  if (f.lookback === "custom") {
    set("start", f.start);
    set("end", f.end);
  }
  set("minDuration", f.minDuration);
  set("maxDuration", f.maxDuration);
  set("limit", f.limit);
  return q;
}

/** Milliseconds of a lookback such as "15m", "1h", "2d", "1w"; throws on anything else. */
export function lookbackMillis(s: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(s.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`lookback "${s}" is not a time span such as 15m, 1h, 2d or 1w`);
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(m[1]) * unit;
}

const goDuration = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** Checks a duration the API accepts (Go syntax: 100ms, 1.5s, 2m30s); returns it trimmed or throws. */
export function checkDuration(field: string, s: string): string {
  const t = s.trim();
  if (t !== "" && !goDuration.test(t)) throw new Error(`${field} "${s}" is not a duration such as 100ms, 1.5s or 2m30s (units: us, ms, s, m, h)`);
  return t;
}

/** Go duration → µs, for comparing min and max. */
export function durationMicros(s: string): number {
  let total = 0;
  const units: Record<string, number> = { ns: 1e-3, us: 1, "µs": 1, "μs": 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };
  for (const m of s.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]];
  return total;
}

/** An RFC 3339 time (UTC) with microsecond precision, from Unix µs. */
export function isoFromMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const frac = String(us - ms * 1000).padStart(3, "0");
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, `.$1${frac}Z`);
}

/** The time window a form searches, in Unix µs. */
export function searchWindow(f: SearchForm, nowMs: number): { startUs: number; endUs: number } {
  if (f.lookback === "custom") {
    const start = parseMicros("start", f.start);
    const end = f.end.trim() === "" ? nowMs * 1000 : parseMicros("end", f.end);
    if (start >= end) throw new Error("the custom range must start before it ends");
    return { startUs: start, endUs: end };
  }
  const endUs = nowMs * 1000;
  return { startUs: endUs - lookbackMillis(f.lookback) * 1000, endUs };
}

function parseMicros(name: string, s: string): number {
  const t = s.trim();
  if (!/^\d{1,16}$/.test(t)) throw new Error(`${name} "${s}" is not a time; pick the custom range's ${name} again`);
  return Number(t);
}

/** Checks the whole form; throws an Error naming the first problem. */
export function validate(f: SearchForm, nowMs: number): void {
  parseLogfmt(f.tags);
  searchWindow(f, nowMs);
  const lo = checkDuration("min duration", f.minDuration);
  const hi = checkDuration("max duration", f.maxDuration);
  if (lo && hi && durationMicros(lo) > durationMicros(hi)) throw new Error(`min duration ${lo} is greater than max duration ${hi}`);
  const limit = f.limit.trim();
  if (limit !== "" && (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > maxLimit)) {
    throw new Error(`limit "${f.limit}" must be a whole number from 1 to ${maxLimit}`);
  }
}

/** The api_v3 trace-summaries parameters of a form. Throws on an invalid form. */
export function apiParams(f: SearchForm, nowMs: number): Record<string, string> {
  validate(f, nowMs);
  const { startUs, endUs } = searchWindow(f, nowMs);
  const p: Record<string, string> = {
    "query.start_time_min": isoFromMicros(startUs),
    "query.start_time_max": isoFromMicros(endUs),
    "query.search_depth": f.limit.trim() || String(defaultLimit),
  };
  if (f.service) p["query.service_name"] = f.service;
  if (f.operation) p["query.operation_name"] = f.operation;
  const tags = parseLogfmt(f.tags);
  if (Object.keys(tags).length > 0) p["query.attributes"] = JSON.stringify(tags);
  if (f.minDuration.trim()) p["query.duration_min"] = f.minDuration.trim();
  if (f.maxDuration.trim()) p["query.duration_max"] = f.maxDuration.trim();
  return p;
}
