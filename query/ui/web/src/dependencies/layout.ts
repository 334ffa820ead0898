// A layered (Sugiyama-style) layout of the service dependency graph,
// left to right: callers left of the services they call.
//
//  1. cycles are broken by reversing DFS back edges (only for layering;
//     they are still drawn parent → child),
//  2. longest-path layering puts every service right of all its callers,
//  3. edges longer than one layer get a virtual node per layer they cross,
//     so they route around services instead of through them,
//  4. the order within layers minimises crossings with barycentric sweeps
//     (down and up, keeping the best order seen),
//  5. vertical positions pull each node towards its neighbours' average
//     while keeping the order and a minimum gap.
//
// Pure: data in, coordinates out; unit-tested in test/deps-layout.test.ts.

export interface Link {
  parent: string;
  child: string;
  callCount: number;
}

export interface LayoutNode {
  id: string;
  /** false for the virtual nodes that route long edges */
  real: boolean;
  layer: number;
  /** position within its layer, from the top */
  order: number;
  /** centre */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
  calls: number;
  /** drawn from points[0] (the parent's right side) to the child's left side */
  points: { x: number; y: number }[];
  /** true when the edge points right to left (it closes a cycle) */
  back: boolean;
  /** true for a service calling itself */
  self: boolean;
}

export interface Layout {
  nodes: LayoutNode[];
  edges: LayoutEdge[];
  width: number;
  height: number;
  layers: number;
}

export interface LayoutOptions {
  /** width of a service's box for its name */
  measure?: (name: string) => number;
  nodeHeight?: number;
  /** horizontal space between layers */
  layerGap?: number;
  /** vertical space between boxes */
  nodeGap?: number;
  /** sweeps of crossing reduction */
  iterations?: number;
}

const defaults: Required<LayoutOptions> = {
  measure: (name) => Math.min(260, 28 + name.length * 7.2),
  nodeHeight: 32,
  layerGap: 110,
  nodeGap: 22,
  iterations: 12,
};

/** Merges links with the same parent and child and drops non-positive counts. */
export function mergeLinks(links: Link[]): Link[] {
  const m = new Map<string, Link>();
  for (const l of links) {
    if (!l || typeof l.parent !== "string" || typeof l.child !== "string") continue;
    const n = Number(l.callCount);
    if (!(n > 0)) continue;
    const k = `${l.parent}\u0000${l.child}`;
    const have = m.get(k);
    if (have) have.callCount += n;
    else m.set(k, { parent: l.parent, child: l.child, callCount: n });
  }
  return [...m.values()].sort((a, b) => cmp(a.parent, b.parent) || cmp(a.child, b.child));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function layout(input: Link[], options: LayoutOptions = {}): Layout {
  const o = { ...defaults, ...options };
  const links = mergeLinks(input);
  const names = [...new Set(links.flatMap((l) => [l.parent, l.child]))].sort(cmp);
  const index = new Map(names.map((n, i) => [n, i]));
  const n = names.length;
  if (n === 0) return { nodes: [], edges: [], width: 0, height: 0, layers: 0 };

  // The graph for layering: edges between distinct services, back edges
  // of a DFS reversed.
  const out: number[][] = names.map(() => []);
  for (const l of links) if (l.parent !== l.child) out[index.get(l.parent)!].push(index.get(l.child)!);
  const reversed = findBackEdges(out);
  const dag: [number, number][] = [];
  for (const l of links) {
    if (l.parent === l.child) continue;
    const u = index.get(l.parent)!, v = index.get(l.child)!;
    dag.push(reversed.has(`${u}>${v}`) ? [v, u] : [u, v]);
  }

  // 2. Longest path from the sources: layer(v) = 1 + max layer(u) over u → v.
  const layerOf = longestPathLayers(n, dag);
  const layers = Math.max(...layerOf) + 1;

  // 3. Virtual nodes on long edges. Node ids ≥ n are virtual.
  const layerOfAll = [...layerOf];
  const chains: number[][] = []; // per dag edge, the node ids from its top-layer end to its bottom
  for (const [u, v] of dag) {
    const chain = [u];
    for (let l = layerOf[u] + 1; l < layerOf[v]; l++) {
      layerOfAll.push(l);
      chain.push(layerOfAll.length - 1);
    }
    chain.push(v);
    chains.push(chain);
  }
  const total = layerOfAll.length;
  const up: number[][] = Array.from({ length: total }, () => []);
  const down: number[][] = Array.from({ length: total }, () => []);
  for (const c of chains)
    for (let i = 0; i + 1 < c.length; i++) {
      down[c[i]].push(c[i + 1]);
      up[c[i + 1]].push(c[i]);
    }

  // 4. Order within layers. Start from a DFS order so connected services
  // start close together, then sweep.
  let order = initialOrder(total, layers, layerOfAll, down, n);
  let best = order.map((l) => [...l]);
  let bestCrossings = crossings(best, down);
  for (let it = 0; it < o.iterations && bestCrossings > 0; it++) {
    const downward = it % 2 === 0;
    order = sweep(order, downward ? up : down, downward);
    const c = crossings(order, down);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = order.map((l) => [...l]);
    }
  }
  order = best;

  // 5. Coordinates. Layer x from the widest box in each layer.
  const width = (id: number) => (id < n ? o.measure(names[id]) : 0);
  const height = (id: number) => (id < n ? o.nodeHeight : 2);
  const layerWidth = order.map((ids) => Math.max(0, ...ids.map(width)));
  const layerX: number[] = [];
  let cx = 0;
  for (let l = 0; l < layers; l++) {
    const w = Math.max(layerWidth[l], 8);
    layerX.push(cx + w / 2);
    cx += w + o.layerGap;
  }
  const ys = placeVertically(order, up, down, height, o.nodeGap);

  let minY = Infinity, maxY = -Infinity;
  for (let id = 0; id < total; id++) {
    minY = Math.min(minY, ys[id] - height(id) / 2);
    maxY = Math.max(maxY, ys[id] + height(id) / 2);
  }
  const pad = 8;
  const shift = pad - minY;
  const nodes: LayoutNode[] = [];
  const pos = new Array<number>(total);
  order.forEach((ids) => ids.forEach((id, i) => (pos[id] = i)));
  for (let id = 0; id < total; id++) {
    nodes.push({
      id: id < n ? names[id] : `\u0000v${id}`,
      real: id < n,
      layer: layerOfAll[id],
      order: pos[id],
      x: layerX[layerOfAll[id]] + 12,
      y: ys[id] + shift,
      width: width(id),
      height: height(id),
    });
  }

  // Edges: follow each chain; for reversed edges, draw from the parent.
  const edges: LayoutEdge[] = [];
  const byPair = new Map<string, number[]>();
  dag.forEach(([u, v], i) => byPair.set(`${u}>${v}`, chains[i]));
  for (const l of links) {
    const u = index.get(l.parent)!, v = index.get(l.child)!;
    if (u === v) {
      const nd = nodes[u];
      const top = nd.y - nd.height / 2;
      edges.push({
        from: l.parent, to: l.child, calls: l.callCount, back: false, self: true,
        points: [
          { x: nd.x + nd.width / 4, y: top },
          { x: nd.x, y: top - 22 },
          { x: nd.x - nd.width / 4, y: top },
        ],
      });
      continue;
    }
    const isBack = reversed.has(`${u}>${v}`);
    const chain = isBack ? [...byPair.get(`${v}>${u}`)!].reverse() : byPair.get(`${u}>${v}`)!;
    const pts = chain.map((id) => ({ x: nodes[id].x, y: nodes[id].y }));
    // Leave and enter boxes at their sides.
    const a = nodes[chain[0]], b = nodes[chain[chain.length - 1]];
    pts[0] = { x: a.x + (isBack ? -a.width / 2 : a.width / 2), y: a.y };
    pts[pts.length - 1] = { x: b.x + (isBack ? b.width / 2 : -b.width / 2), y: b.y };
    // A cycle's returning edge runs a little below its forward twin.
    if (isBack) for (const p of pts) p.y += 6;
    edges.push({ from: l.parent, to: l.child, calls: l.callCount, points: pts, back: isBack, self: false });
  }

  return {
    nodes,
    edges,
    width: cx - o.layerGap + 24,
    height: maxY - minY + 2 * pad + 24, // room for self loops' arcs
    layers,
  };
}

/** Edges u>v that close a cycle in an iterative DFS (sources first, then by name). */
export function findBackEdges(out: number[][]): Set<string> {
  const n = out.length;
  const indeg = new Array(n).fill(0);
  for (const vs of out) for (const v of vs) indeg[v]++;
  const starts = [...Array(n).keys()].sort((a, b) => (indeg[a] === 0 ? 0 : 1) - (indeg[b] === 0 ? 0 : 1) || a - b);
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const back = new Set<string>();
  for (const s of starts) {
    if (state[s]) continue;
    const stack: [number, number][] = [[s, 0]];
    state[s] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [u, i] = top;
      if (i < out[u].length) {
        top[1]++;
        const v = out[u][i];
        if (state[v] === 1) back.add(`${u}>${v}`);
        else if (state[v] === 0) {
          state[v] = 1;
          stack.push([v, 0]);
        }
      } else {
        state[u] = 2;
        stack.pop();
      }
    }
  }
  return back;
}

/** Longest-path layering of an acyclic graph given as edges. */
export function longestPathLayers(n: number, edges: [number, number][]): number[] {
  const layer = new Array(n).fill(0);
  const indeg = new Array(n).fill(0);
  const out: number[][] = Array.from({ length: n }, () => []);
  for (const [u, v] of edges) {
    out[u].push(v);
    indeg[v]++;
  }
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue.push(i);
  for (let h = 0; h < queue.length; h++) {
    const u = queue[h];
    for (const v of out[u]) {
      layer[v] = Math.max(layer[v], layer[u] + 1);
      if (--indeg[v] === 0) queue.push(v);
    }
  }
  if (queue.length !== n) throw new Error("dependency layout: graph still has a cycle after breaking back edges");
  return layer;
}

function initialOrder(total: number, layers: number, layerOf: number[], down: number[][], real: number): number[][] {
  const order: number[][] = Array.from({ length: layers }, () => []);
  const seen = new Uint8Array(total);
  const visit = (s: number) => {
    const stack = [s];
    while (stack.length) {
      const u = stack.pop()!;
      if (seen[u]) continue;
      seen[u] = 1;
      order[layerOf[u]].push(u);
      for (let i = down[u].length - 1; i >= 0; i--) stack.push(down[u][i]);
    }
  };
  for (let i = 0; i < real; i++) if (layerOf[i] === 0) visit(i);
  for (let i = 0; i < total; i++) visit(i);
  return order;
}

/** One barycentric pass: each layer ordered by the mean position of its neighbours in the fixed layer. */
function sweep(order: number[][], neighbours: number[][], downward: boolean): number[][] {
  const next = order.map((l) => [...l]);
  const pos = new Map<number, number>();
  next.forEach((ids) => ids.forEach((id, i) => pos.set(id, i)));
  const ls = [...next.keys()];
  if (!downward) ls.reverse();
  for (const l of ls.slice(1)) {
    const ids = next[l];
    const bary = new Map<number, number>();
    ids.forEach((id, i) => {
      const ns = neighbours[id];
      bary.set(id, ns.length ? ns.reduce((s, m) => s + pos.get(m)!, 0) / ns.length : i);
    });
    // Stable: nodes without neighbours keep their place relative to the others.
    ids.sort((a, b) => bary.get(a)! - bary.get(b)! || pos.get(a)! - pos.get(b)!);
    ids.forEach((id, i) => pos.set(id, i));
  }
  return next;
}

/** Edge crossings between adjacent layers (pairs of edges whose ends are in opposite orders). */
export function crossings(order: number[][], down: number[][]): number {
  const pos = new Map<number, number>();
  order.forEach((ids) => ids.forEach((id, i) => pos.set(id, i)));
  let c = 0;
  for (const ids of order) {
    const es: [number, number][] = [];
    for (const u of ids) for (const v of down[u]) es.push([pos.get(u)!, pos.get(v)!]);
    for (let i = 0; i < es.length; i++)
      for (let j = i + 1; j < es.length; j++) {
        const [a1, b1] = es[i], [a2, b2] = es[j];
        if ((a1 - a2) * (b1 - b2) < 0) c++;
      }
  }
  return c;
}

/**
 * Vertical centres: stacked with gaps, then a few passes moving each
 * node towards the mean of its neighbours' centres, resolving overlaps
 * within a layer in order.
 */
function placeVertically(
  order: number[][],
  up: number[][],
  down: number[][],
  height: (id: number) => number,
  gap: number,
): number[] {
  const y: number[] = [];
  for (const ids of order) {
    let cy = 0;
    for (const id of ids) {
      y[id] = cy + height(id) / 2;
      cy += height(id) + gap;
    }
  }
  // Centre each layer on the tallest.
  const extent = (ids: number[]) => (ids.length ? y[ids[ids.length - 1]] + height(ids[ids.length - 1]) / 2 : 0);
  const tallest = Math.max(...order.map(extent));
  for (const ids of order) {
    const off = (tallest - extent(ids)) / 2;
    for (const id of ids) y[id] += off;
  }
  for (let pass = 0; pass < 8; pass++) {
    const ls = pass % 2 === 0 ? [...order.keys()] : [...order.keys()].reverse();
    for (const l of ls) {
      const ids = order[l];
      const want = ids.map((id) => {
        const ns = [...up[id], ...down[id]];
        return ns.length ? ns.reduce((s, m) => s + y[m], 0) / ns.length : y[id];
      });
      // Forward: keep order and gaps at or below the wish; backward: pull back up.
      const placed = [...want];
      for (let i = 1; i < ids.length; i++) {
        const min = placed[i - 1] + (height(ids[i - 1]) + height(ids[i])) / 2 + gap;
        if (placed[i] < min) placed[i] = min;
      }
      for (let i = ids.length - 2; i >= 0; i--) {
        const max = placed[i + 1] - (height(ids[i + 1]) + height(ids[i])) / 2 - gap;
        if (placed[i] > max) placed[i] = max;
      }
      ids.forEach((id, i) => (y[id] = placed[i]));
    }
  }
  return y;
}

/** A smooth path through an edge's points: horizontal tangents at each point. */
export function edgePath(e: LayoutEdge): string {
  const p = e.points;
  if (e.self) {
    const [a, top, b] = p;
    return `M${a.x},${a.y} C${a.x + 8},${top.y} ${b.x - 8},${top.y} ${b.x},${b.y}`;
  }
  let d = `M${p[0].x.toFixed(1)},${p[0].y.toFixed(1)}`;
  for (let i = 1; i < p.length; i++) {
    const a = p[i - 1], b = p[i];
    const dx = (b.x - a.x) / 2;
    d += ` C${(a.x + dx).toFixed(1)},${a.y.toFixed(1)} ${(b.x - dx).toFixed(1)},${b.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
  }
  return d;
}

/** Where an edge's call count goes: the middle of its route. */
export function labelPoint(e: LayoutEdge): { x: number; y: number } {
  const p = e.points;
  if (e.self) return { x: p[1].x, y: p[1].y + 4 };
  if (p.length % 2 === 1) return p[(p.length - 1) / 2];
  const a = p[p.length / 2 - 1], b = p[p.length / 2];
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}
