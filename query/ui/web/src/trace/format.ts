// How times, durations and attribute values read on screen.

import type { AnyValue } from "./model";

/** A duration given in µs, human-readably: 250ns, 12µs, 3.45ms, 1.2s, 2m 3s. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return "–";
  const neg = us < 0 ? "-" : "";
  const v = Math.abs(us);
  if (v === 0) return "0µs";
  if (v < 1) return `${neg}${Math.round(v * 1000)}ns`;
  if (v < 1000) return `${neg}${trim(v, v < 10 ? 2 : v < 100 ? 1 : 0)}µs`;
  if (v < 1e6) return `${neg}${trim(v / 1000, v < 1e4 ? 2 : v < 1e5 ? 1 : 0)}ms`;
  if (v < 60e6) return `${neg}${trim(v / 1e6, 2)}s`;
  if (v < 3600e6) {
    const m = Math.floor(v / 60e6);
    return `${neg}${m}m ${trim((v - m * 60e6) / 1e6, 0)}s`;
  }
  const h = Math.floor(v / 3600e6);
  return `${neg}${h}h ${Math.round((v - h * 3600e6) / 60e6)}m`;
}

function trim(x: number, digits: number): string {
  const s = x.toFixed(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * Exact Unix nanoseconds as local date and time to the microsecond
 * ("2024-05-01 14:30:00.123456"), or with all nine digits when asked.
 */
export function formatTimestamp(unixNano: string, nanos = false): string {
  if (!unixNano) return "";
  const n = BigInt(unixNano);
  const ms = Number(n / 1000000n);
  const sub = n % 1000000000n; // nanoseconds within the second
  const d = new Date(ms);
  const frac = sub.toString().padStart(9, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${nanos ? frac : frac.slice(0, 6)}`;
}

/** An attribute value as text: strings bare, everything else as JSON. */
export function formatValue(v: AnyValue): string {
  if ("stringValue" in v) return v.stringValue;
  return JSON.stringify(plain(v));
}

/** An AnyValue as the plain JSON value it stands for (64-bit ints kept as exact numbers when safe, strings when not). */
export function plain(v: AnyValue): unknown {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) {
    const n = Number(v.intValue);
    return Number.isSafeInteger(n) ? n : v.intValue;
  }
  if ("doubleValue" in v) return v.doubleValue;
  if ("bytesValue" in v) return v.bytesValue;
  if ("arrayValue" in v) return v.arrayValue.values.map(plain);
  if ("kvlistValue" in v) {
    const o: Record<string, unknown> = {};
    for (const kv of v.kvlistValue.values) o[kv.key] = plain(kv.value);
    return o;
  }
  return null;
}

/** The spacing of a time axis: a "nice" step (1, 2 or 5 × 10^n µs) giving about `target` ticks. */
export function tickStep(rangeUs: number, target: number): number {
  if (rangeUs <= 0) return 1;
  const raw = rangeUs / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}
