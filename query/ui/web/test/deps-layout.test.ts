import { describe, expect, it } from "vitest";
import {
  crossings,
  edgePath,
  findBackEdges,
  labelPoint,
  layout,
  longestPathLayers,
  mergeLinks,
  type Layout,
  type Link,
} from "../src/dependencies/layout";

const l = (parent: string, child: string, callCount = 1): Link => ({ parent, child, callCount });

function node(g: Layout, id: string) {
  const n = g.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
}

/** Boxes of one layer must not overlap vertically, and must keep their order. */
function expectNoOverlap(g: Layout) {
  const byLayer = new Map<number, typeof g.nodes>();
  for (const n of g.nodes) byLayer.set(n.layer, [...(byLayer.get(n.layer) ?? []), n]);
  for (const ns of byLayer.values()) {
    ns.sort((a, b) => a.order - b.order);
    for (let i = 1; i < ns.length; i++) {
      expect(ns[i].y - ns[i].height / 2).toBeGreaterThanOrEqual(ns[i - 1].y + ns[i - 1].height / 2 - 1e-6);
    }
  }
}

/** Crossings of a finished layout's edges, from its node orders. */
function layoutCrossings(g: Layout): number {
  const ids = new Map(g.nodes.map((n, i) => [n.id, i]));
  const down: number[][] = g.nodes.map(() => []);
  // Follow each edge's route through its virtual nodes.
  for (const e of g.edges) {
    if (e.self) continue;
    const chain = e.points.map((p, i) =>
      i === 0 ? ids.get(e.from)! : i === e.points.length - 1 ? ids.get(e.to)! : g.nodes.findIndex((n) => !n.real && n.x === p.x && Math.abs(n.y - p.y) < 7),
    );
    if (e.back) chain.reverse();
    for (let i = 0; i + 1 < chain.length; i++) down[chain[i]].push(chain[i + 1]);
  }
  const order: number[][] = [];
  g.nodes.forEach((n, i) => ((order[n.layer] ??= [])[n.order] = i));
  return crossings(order, down);
}

describe("mergeLinks", () => {
  it("sums duplicates, drops empty and malformed links, sorts", () => {
    const got = mergeLinks([l("b", "c", 2), l("a", "b", 1), l("b", "c", 3), l("x", "y", 0), { parent: 1 } as unknown as Link]);
    expect(got).toEqual([l("a", "b", 1), l("b", "c", 5)]);
  });
});

describe("layout", () => {
  it("is empty without links", () => {
    expect(layout([])).toEqual({ nodes: [], edges: [], width: 0, height: 0, layers: 0 });
  });

  it("puts callers left of the services they call (longest path)", () => {
    // a → b → c and a → c: c must be in layer 2, not 1.
    const g = layout([l("a", "b"), l("b", "c"), l("a", "c")]);
    expect(node(g, "a").layer).toBe(0);
    expect(node(g, "b").layer).toBe(1);
    expect(node(g, "c").layer).toBe(2);
    expect(g.layers).toBe(3);
    expect(node(g, "a").x).toBeLessThan(node(g, "b").x);
    expect(node(g, "b").x).toBeLessThan(node(g, "c").x);
    // The long edge a → c routes through a virtual node in layer 1.
    const ac = g.edges.find((e) => e.from === "a" && e.to === "c")!;
    expect(ac.points).toHaveLength(3);
    expect(g.nodes.filter((n) => !n.real)).toHaveLength(1);
    expectNoOverlap(g);
  });

  it("starts edges at the parent's right side and ends them at the child's left side", () => {
    const g = layout([l("frontend", "checkout", 42)]);
    const e = g.edges[0];
    const p = node(g, "frontend"), c = node(g, "checkout");
    expect(e.calls).toBe(42);
    expect(e.points[0]).toEqual({ x: p.x + p.width / 2, y: p.y });
    expect(e.points[e.points.length - 1]).toEqual({ x: c.x - c.width / 2, y: c.y });
    expect(e.back).toBe(false);
  });

  it("lays out cycles, drawing the closing edge backwards", () => {
    const g = layout([l("a", "b"), l("b", "c"), l("c", "a", 7)]);
    expect(g.nodes.filter((n) => n.real).map((n) => n.id).sort()).toEqual(["a", "b", "c"]);
    expect(g.edges).toHaveLength(3);
    const back = g.edges.filter((e) => e.back);
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ from: "c", to: "a", calls: 7 });
    // It still goes from c to a: starting at c's left side, right to left.
    const c = node(g, "c"), a = node(g, "a");
    expect(back[0].points[0].x).toBeCloseTo(c.x - c.width / 2);
    expect(back[0].points[back[0].points.length - 1].x).toBeCloseTo(a.x + a.width / 2);
  });

  it("handles two services calling each other", () => {
    const g = layout([l("a", "b", 3), l("b", "a", 2)]);
    expect(g.edges.map((e) => [e.from, e.to, e.back]).sort()).toEqual([
      ["a", "b", false],
      ["b", "a", true],
    ]);
  });

  it("draws a service calling itself as a loop above it", () => {
    const g = layout([l("a", "a", 5), l("a", "b")]);
    const self = g.edges.find((e) => e.self)!;
    expect(self).toMatchObject({ from: "a", to: "a", calls: 5 });
    expect(self.points[1].y).toBeLessThan(node(g, "a").y - node(g, "a").height / 2);
    expect(edgePath(self)).toMatch(/^M[\d.-]+,[\d.-]+ C/);
  });

  it("removes crossings the initial order makes", () => {
    // Depth-first order puts p, q, r in layer 1, so a → q crosses b → p;
    // ordering by barycentre gives q, p, r without crossings.
    const links = [l("a", "p"), l("a", "q"), l("b", "p"), l("b", "r")];
    expect(layoutCrossings(layout(links, { iterations: 0 }))).toBe(1);
    const g = layout(links);
    expect(layoutCrossings(g)).toBe(0);
    expect(node(g, "q").y).toBeLessThan(node(g, "p").y);
    expect(node(g, "p").y).toBeLessThan(node(g, "r").y);
  });

  it("is deterministic and ignores input order", () => {
    const links = [l("gw", "auth"), l("gw", "orders"), l("orders", "db"), l("auth", "db"), l("orders", "payments"), l("payments", "db")];
    const a = layout(links);
    const b = layout([...links].reverse());
    expect(b).toEqual(a);
  });

  it("keeps boxes apart and inside the drawing on a larger graph", () => {
    const links: Link[] = [];
    for (let i = 0; i < 30; i++) {
      links.push(l(`svc-${i}`, `svc-${(i * 7 + 3) % 30}`, i + 1));
      links.push(l(`svc-${i}`, `svc-${(i * 11 + 5) % 30}`, 2 * i + 1));
    }
    const g = layout(links);
    expect(g.nodes.filter((n) => n.real)).toHaveLength(30);
    expect(g.edges).toHaveLength(mergeLinks(links).length);
    expectNoOverlap(g);
    for (const n of g.nodes) {
      expect(n.x - n.width / 2).toBeGreaterThanOrEqual(0);
      expect(n.x + n.width / 2).toBeLessThanOrEqual(g.width);
      expect(n.y - n.height / 2).toBeGreaterThanOrEqual(0);
      expect(n.y + n.height / 2).toBeLessThanOrEqual(g.height);
    }
    for (const e of g.edges) for (const p of e.points) expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
  });

  it("puts the call count in the middle of the route", () => {
    const g = layout([l("a", "b"), l("b", "c"), l("a", "c")]);
    const ac = g.edges.find((e) => e.from === "a" && e.to === "c")!;
    expect(labelPoint(ac)).toEqual(ac.points[1]);
    const ab = g.edges.find((e) => e.from === "a" && e.to === "b")!;
    expect(labelPoint(ab).x).toBeCloseTo((ab.points[0].x + ab.points[1].x) / 2);
  });
});

describe("layering helpers", () => {
  it("finds exactly the edges that close cycles", () => {
    // 0 → 1 → 2 → 0, 2 → 3
    const back = findBackEdges([[1], [2], [0, 3], []]);
    expect([...back]).toEqual(["2>0"]);
  });

  it("refuses a graph that still has a cycle", () => {
    expect(() => longestPathLayers(2, [[0, 1], [1, 0]])).toThrow(/cycle/);
  });
});
