import { describe, expect, it } from "vitest";
import { criticalPath } from "../src/trace/critical";
import { sid, trace, type S } from "./trace-fixtures";

/** The critical path as [span, start, end] in walk order (latest first). */
function path(spans: S[]): [string, number, number][] {
  return criticalPath(trace(spans)).sections.map((s) => [s.span.spanID.replace(/^0+/, ""), s.start, s.end]);
}

describe("critical path", () => {
  it("is the span itself when it has no children", () => {
    expect(path([{ id: "1", start: 0, dur: 100 }])).toEqual([["1", 0, 100]]);
  });

  it("goes through sequential children, giving the gaps to the parent", () => {
    expect(
      path([
        { id: "1", start: 0, dur: 100 },
        { id: "2", parent: "1", start: 10, dur: 30 },
        { id: "3", parent: "1", start: 50, dur: 40 },
      ]),
    ).toEqual([
      ["1", 90, 100],
      ["3", 50, 90],
      ["1", 40, 50],
      ["2", 10, 40],
      ["1", 0, 10],
    ]);
  });

  it("counts back-to-back children (one ends as the next starts)", () => {
    expect(
      path([
        { id: "1", start: 0, dur: 100 },
        { id: "2", parent: "1", start: 0, dur: 50 },
        { id: "3", parent: "1", start: 50, dur: 50 },
      ]),
    ).toEqual([
      ["3", 50, 100],
      ["2", 0, 50],
    ]);
  });

  it("skips a parallel child that ended after the next one on the path started", () => {
    // 2 (10–60) overlaps 3 (20–90): only the last-finishing one holds the parent up.
    expect(
      path([
        { id: "1", start: 0, dur: 100 },
        { id: "2", parent: "1", start: 10, dur: 50 },
        { id: "3", parent: "1", start: 20, dur: 70 },
        { id: "4", parent: "1", start: 5, dur: 10 }, // ends at 15 < 20: on the path
      ]),
    ).toEqual([
      ["1", 90, 100],
      ["3", 20, 90],
      ["1", 15, 20],
      ["4", 5, 15],
      ["1", 0, 5],
    ]);
  });

  it("descends into grandchildren", () => {
    expect(
      path([
        { id: "1", start: 0, dur: 100 },
        { id: "2", parent: "1", start: 10, dur: 80 },
        { id: "3", parent: "2", start: 20, dur: 30 },
        { id: "4", parent: "2", start: 60, dur: 20 },
      ]),
    ).toEqual([
      ["1", 90, 100],
      ["2", 80, 90],
      ["4", 60, 80],
      ["2", 50, 60],
      ["3", 20, 50],
      ["2", 10, 20],
      ["1", 0, 10],
    ]);
  });

  it("clips children that overflow their parent and drops ones wholly outside", () => {
    expect(
      path([
        { id: "1", start: 0, dur: 100 },
        { id: "2", parent: "1", start: 60, dur: 80 }, // 60–140, clipped to 60–100
        { id: "3", parent: "1", start: 150, dur: 10 }, // outside: dropped
        { id: "4", parent: "1", start: -10 + 10, dur: 20 }, // 0–20
      ]),
    ).toEqual([
      ["2", 60, 100],
      ["1", 20, 60],
      ["4", 0, 20],
    ]);
  });

  it("ignores FOLLOWS_FROM children", () => {
    expect(
      path([
        { id: "1", start: 0, dur: 100 },
        { id: "2", parent: "1", start: 10, dur: 80, followsFrom: true },
      ]),
    ).toEqual([["1", 0, 100]]);
  });

  it("survives zero-length children without looping", () => {
    const cp = path([
      { id: "1", start: 0, dur: 100 },
      { id: "2", parent: "1", start: 100, dur: 0 },
      { id: "3", parent: "1", start: 50, dur: 0 },
      { id: "4", parent: "1", start: 50, dur: 0 },
    ]);
    expect(cp).toEqual([
      ["1", 50, 100],
      ["1", 0, 50],
    ]);
  });

  it("covers each root of a trace with several, and orphans", () => {
    const cp = criticalPath(
      trace([
        { id: "1", start: 0, dur: 10 },
        { id: "2", start: 20, dur: 10 },
        { id: "3", parent: "gone", start: 40, dur: 5 },
      ]),
    );
    expect([...cp.bySpan.keys()].sort()).toEqual([sid("1"), sid("2"), sid("3")]);
  });

  it("follows one path through a 10,000-span trace, covering the root's whole duration", () => {
    const spans: S[] = [{ id: "1", start: 0, dur: 1_000_000 }];
    for (let i = 2; i <= 10000; i++) spans.push({ id: i.toString(16), parent: (Math.floor((i - 2) / 8) + 1).toString(16), start: (i * 37) % 900_000, dur: 1000 + (i % 50) * 100 });
    const cp = criticalPath(trace(spans));
    // The sections tile the root's duration without gaps or overlaps.
    const sorted = [...cp.sections].sort((a, b) => a.start - b.start);
    let at = 0;
    const gaps: number[] = [];
    for (const s of sorted) {
      if (s.start !== at) gaps.push(at);
      at = s.end;
    }
    expect(gaps).toEqual([]);
    expect(at).toBe(1_000_000);
    expect(cp.sections.length).toBeGreaterThan(1);
  });
});
