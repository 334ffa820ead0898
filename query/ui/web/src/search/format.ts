// Human-readable durations and times for the search page.

/** 850µs, 12.3ms, 4.56s, 2m 5s, 1h 2m. */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us) || us < 0) return "–";
  if (us < 1000) return `${round(us)}µs`;
  if (us < 1e6) return `${round(us / 1000)}ms`;
  if (us < 60e6) return `${round(us / 1e6)}s`;
  const s = Math.round(us / 1e6);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function round(x: number): string {
  // Three significant digits, no trailing zeros.
  return String(Number(x.toPrecision(3)));
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** "2026-11-21 14:03:05" in local time. */
export function formatDateTime(us: number): string {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "14:03:05.123" in local time. */
export function formatClock(us: number, withMillis = false): string {
  const d = new Date(us / 1000);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** "5 minutes ago", "in 2 seconds" (clock skew), "3 days ago". */
export function formatAgo(us: number, nowMs: number): string {
  const s = Math.round((nowMs * 1000 - us) / 1e6);
  const future = s < 0;
  const a = Math.abs(s);
  const [n, unit] =
    a < 60 ? [a, "second"] : a < 3600 ? [Math.floor(a / 60), "minute"] : a < 86400 ? [Math.floor(a / 3600), "hour"] : [Math.floor(a / 86400), "day"];
  const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return future ? `in ${text}` : `${text} ago`;
}

/** A value for <input type="datetime-local"> from Unix µs (local time, to the second). */
export function toLocalInput(us: number): string {
  const d = new Date(us / 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Unix µs from an <input type="datetime-local"> value (local time); NaN when empty or invalid. */
export function fromLocalInput(s: string): number {
  if (!s) return NaN;
  const t = new Date(s).getTime();
  return Number.isNaN(t) ? NaN : t * 1000;
}
