// Number formatting shared by the charts and tables.

/** A duration given in milliseconds, human-readably: 840µs, 12.3ms, 4.1s, 2m 5s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  const a = Math.abs(ms);
  if (a === 0) return "0";
  if (a < 1) return `${trim(ms * 1000)}µs`;
  if (a < 1000) return `${trim(ms)}ms`;
  if (a < 60000) return `${trim(ms / 1000)}s`;
  const m = Math.floor(a / 60000);
  const s = Math.round((a - m * 60000) / 1000);
  return `${ms < 0 ? "-" : ""}${m}m${s ? ` ${s}s` : ""}`;
}

/** A rate or count with at most three significant digits: 0.0123, 4.56, 789, 12.3k. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

/** A fraction in [0, 1] as a percentage: 0.0512 → "5.12%". */
export function formatPercent(f: number | null | undefined): string {
  if (f === null || f === undefined || !Number.isFinite(f)) return "–";
  return `${formatNumber(f * 100)}%`;
}

/** A call count with thousands separators: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}
