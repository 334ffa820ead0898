// Lookbacks as the Jaeger UI writes them in URLs ("15m", "1h", "2d", "1w")
// and the time windows they give.

export interface LookbackOption {
  value: string;
  label: string;
}

const units: Record<string, number> = { s: 1000, m: 60000, h: 3600000, d: 86400000, w: 7 * 86400000 };

/**
 * Milliseconds of a lookback such as "30m", "1h", "2d", "1w" or a plain
 * number of milliseconds. Throws an Error naming the value when it is not one.
 */
export function parseLookback(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/.exec(s);
  if (!m) throw new Error(`lookback "${s}" is not a duration such as 15m, 1h, 2d or 1w`);
  const n = Number(m[1]);
  const ms = m[2] === undefined || m[2] === "ms" ? n : n * units[m[2]];
  if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`lookback "${s}" must be longer than zero`);
  return Math.round(ms);
}

/** "3600000" → "1h"; values that are not whole units stay as they are. */
export function formatLookback(ms: number): string {
  for (const u of ["w", "d", "h", "m", "s"]) if (ms % units[u] === 0) return `${ms / units[u]}${u}`;
  return `${ms}ms`;
}

/** Parses an endTs URL parameter (ms since the epoch); now when absent. */
export function parseEndTs(s: string | null, now: number): number {
  if (s === null || s === "") return now;
  if (!/^\d+$/.test(s)) throw new Error(`endTs "${s}" is not a time in milliseconds since the epoch`);
  return Number(s);
}

/** A value for <input type="datetime-local"> in local time, to the minute. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => (n < 10 ? `0${n}` : String(n));
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
