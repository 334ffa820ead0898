// Scales and ticks for the hand-written SVG charts: a linear map from data
// to pixels and "nice" tick values (1, 2, 5 × 10^n) for value and time axes.

/** A linear map from [d0, d1] to [r0, r1]. */
export interface Scale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((v: number) => (d1 === d0 ? (r0 + r1) / 2 : r0 + (v - d0) * k)) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

/** The smallest 1, 2 or 5 × 10^n that is at least x (x > 0). */
export function niceStep(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-9)) return m * p;
  return 10 * p;
}

/**
 * About count evenly spaced round values covering [lo, hi]; the first is
 * at or below lo and the last at or above hi, so they can bound an axis.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    // One value: an axis from zero to it (or from it to zero).
    if (lo === 0) return [0, 1];
    if (lo > 0) lo = 0;
    else hi = 0;
  }
  const step = niceStep((hi - lo) / Math.max(1, count));
  const first = Math.floor(lo / step + 1e-9) * step;
  const out: number[] = [];
  for (let v = first; v < hi + step * (1 - 1e-9); v += step) {
    out.push(Number(v.toPrecision(12)));
    if (out.length > 100) break;
  }
  if (out.length === 1) out.push(Number((first + step).toPrecision(12)));
  return out;
}

// Round time steps for a time axis, in ms.
const timeSteps = [
  1000, 5000, 15000, 30000, 60000, 2 * 60000, 5 * 60000, 10 * 60000, 15 * 60000, 30 * 60000,
  3600000, 2 * 3600000, 3 * 3600000, 6 * 3600000, 12 * 3600000, 86400000, 2 * 86400000, 7 * 86400000,
];

/** Tick times (ms since the epoch) on round local minutes/hours/days in [lo, hi]. */
export function timeTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const want = (hi - lo) / Math.max(1, count);
  const step = timeSteps.find((s) => s >= want) ?? niceStep(want / 86400000) * 86400000;
  // Align on local time so "10:00" is on the hour in the user's zone.
  const offset = new Date(lo).getTimezoneOffset() * 60000;
  let t = Math.ceil((lo - offset) / step) * step + offset;
  const out: number[] = [];
  for (; t <= hi && out.length < 100; t += step) out.push(t);
  return out;
}

/** Formats a tick time: HH:MM within a day, else "Mon DD HH:MM". */
export function formatTickTime(t: number, spanMs: number): string {
  const d = new Date(t);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs <= 2 * 60000) return `${hm}:${pad(d.getSeconds())}`;
  if (spanMs <= 86400000) return hm;
  return `${d.toLocaleString(undefined, { month: "short" })} ${d.getDate()} ${hm}`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
