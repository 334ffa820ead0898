import { describe, expect, it } from "vitest";
import { linearScale, niceStep, niceTicks, timeTicks } from "../src/charts/scale";
import { formatCount, formatMs, formatNumber, formatPercent } from "../src/charts/format";
import { formatLookback, parseEndTs, parseLookback } from "../src/charts/lookback";
import { segments } from "../src/charts/LineChart";

describe("scales and ticks", () => {
  it("maps linearly and handles an empty domain", () => {
    const s = linearScale([0, 10], [100, 0]);
    expect(s(0)).toBe(100);
    expect(s(5)).toBe(50);
    expect(linearScale([3, 3], [0, 10])(3)).toBe(5);
  });

  it("rounds steps up to 1, 2 or 5 × 10^n", () => {
    expect([0.013, 0.2, 3, 7, 10, 4100].map(niceStep)).toEqual([0.02, 0.2, 5, 10, 10, 5000]);
  });

  it("gives round ticks covering the range", () => {
    expect(niceTicks(0, 97, 4)).toEqual([0, 50, 100]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 0)).toEqual([0, 1]);
    const one = niceTicks(7, 7);
    expect(one[0]).toBe(0);
    expect(one[one.length - 1]).toBeGreaterThanOrEqual(7);
    const tk = niceTicks(0, 0.0123, 4);
    expect(tk[tk.length - 1]).toBeGreaterThanOrEqual(0.0123);
    expect(tk.length).toBeLessThanOrEqual(6);
  });

  it("puts time ticks on round minutes", () => {
    const lo = Date.UTC(2026, 2, 1, 10, 0, 17);
    const ticks = timeTicks(lo, lo + 3600000, 6);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    for (const tk of ticks) {
      expect(tk).toBeGreaterThanOrEqual(lo);
      expect(tk % 60000).toBe(0);
    }
  });
});

describe("LineChart segments", () => {
  it("breaks lines at undefined values", () => {
    const p = (t: number, v: number | null) => ({ t, v });
    expect(segments([p(1, 1), p(2, null), p(3, 3), p(4, 4), p(5, NaN)])).toEqual([[p(1, 1)], [p(3, 3), p(4, 4)]]);
    expect(segments([])).toEqual([]);
  });
});

describe("formatting", () => {
  it("formats durations in ms human-readably", () => {
    expect(formatMs(0.84)).toBe("840µs");
    expect(formatMs(12.345)).toBe("12.3ms");
    expect(formatMs(4100)).toBe("4.1s");
    expect(formatMs(125000)).toBe("2m 5s");
    expect(formatMs(null)).toBe("–");
  });

  it("formats rates, percentages and counts", () => {
    expect(formatNumber(0.012345)).toBe("0.0123");
    expect(formatNumber(456.7)).toBe("457");
    expect(formatNumber(12345)).toBe("12.3k");
    expect(formatPercent(0.0512)).toBe("5.12%");
    expect(formatPercent(null)).toBe("–");
    expect(formatCount(1234567)).toBe("1,234,567");
  });
});

describe("lookbacks", () => {
  it("parses Jaeger UI lookbacks and milliseconds", () => {
    expect(parseLookback("15m")).toBe(900000);
    expect(parseLookback("1h")).toBe(3600000);
    expect(parseLookback("2d")).toBe(2 * 86400000);
    expect(parseLookback("1w")).toBe(7 * 86400000);
    expect(parseLookback("5000")).toBe(5000);
    expect(formatLookback(2 * 86400000)).toBe("2d");
    expect(formatLookback(5400000)).toBe("90m");
  });

  it("names a bad lookback or end time", () => {
    expect(() => parseLookback("yesterday")).toThrow(/lookback "yesterday" is not a duration/);
    expect(() => parseLookback("0h")).toThrow(/longer than zero/);
    expect(() => parseEndTs("now", 0)).toThrow(/endTs "now"/);
    expect(parseEndTs(null, 42)).toBe(42);
    expect(parseEndTs("1700000000000", 42)).toBe(1700000000000);
  });
});
