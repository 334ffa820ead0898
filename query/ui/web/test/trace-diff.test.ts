import { describe, expect, it } from "vitest";
import { diffTraces, durationChanged, visibleDiffRows, type DiffNode } from "../src/trace/diff";
import { trace } from "./trace-fixtures";

function flat(nodes: DiffNode[]): string[] {
  const out: string[] = [];
  const walk = (n: DiffNode) => {
    out.push(`${"  ".repeat(n.depth)}${n.service}:${n.operation} ${n.change}`);
    n.children.forEach(walk);
  };
  nodes.forEach(walk);
  return out;
}

describe("durationChanged", () => {
  it.each([
    [100_000, 105_000, false], // 5 ms but 5 %
    [100_000, 111_000, true], // 11 ms and 11 %
    [20, 40, false], // 100 % but 20 µs
    [2_000, 3_500, true],
    [3_500, 2_000, true],
    [0, 900, false],
    [0, 1_001, true],
  ])("%s → %s µs: %s", (a, b, want) => expect(durationChanged(a, b)).toBe(want));
});

describe("diffTraces", () => {
  const a = trace([
    { id: "1", start: 0, dur: 100_000, service: "api", name: "GET" },
    { id: "2", parent: "1", start: 1_000, dur: 10_000, service: "db", name: "q" },
    { id: "3", parent: "1", start: 20_000, dur: 10_000, service: "db", name: "q" },
    { id: "4", parent: "1", start: 40_000, dur: 5_000, service: "cache", name: "get" },
    { id: "5", parent: "4", start: 41_000, dur: 1_000, service: "cache", name: "lookup" },
  ]);
  const b = trace(
    [
      { id: "a", start: 0, dur: 150_000, service: "api", name: "GET" },
      { id: "b", parent: "a", start: 1_000, dur: 10_200, service: "db", name: "q" },
      { id: "c", parent: "a", start: 20_000, dur: 60_000, service: "db", name: "q" },
      { id: "d", parent: "a", start: 90_000, dur: 10_000, service: "db", name: "q" },
      { id: "e", parent: "a", start: 110_000, dur: 5_000, service: "auth", name: "check" },
    ],
    "0af7651916cd43dd8448eb211c80319c",
  );

  it("matches by service, operation and occurrence, and marks each node", () => {
    const d = diffTraces(a, b);
    expect(flat(d.roots)).toEqual([
      "api:GET changed",
      "  db:q same",
      "  db:q changed",
      "  cache:get removed",
      "    cache:lookup removed",
      "  db:q added",
      "  auth:check added",
    ]);
    expect(d.counts).toEqual({ added: 2, removed: 2, changed: 2, same: 1 });
    const q3 = d.roots[0].children[3];
    expect(q3.a).toBeNull();
    expect(q3.b?.spanID).toBe("000000000000000d");
  });

  it("is all same against itself, and collapses", () => {
    const d = diffTraces(a, a);
    expect(d.counts).toEqual({ added: 0, removed: 0, changed: 0, same: 5 });
    expect(visibleDiffRows(d, new Set())).toHaveLength(5);
    expect(visibleDiffRows(d, new Set([d.roots[0].children[2].id]))).toHaveLength(4);
    expect(visibleDiffRows(d, new Set([d.roots[0].id]))).toHaveLength(1);
  });
});
