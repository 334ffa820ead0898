// Trace statistics: where the time went, by service and by operation.
// Self time is what a span spent not waiting on a child (see selfTime).

import type { Trace } from "./model";

export interface StatRow {
  service: string;
  /** "" for a service's total row. */
  operation: string;
  count: number;
  errors: number;
  total: number;
  avg: number;
  min: number;
  max: number;
  selfTotal: number;
  selfAvg: number;
  selfMin: number;
  selfMax: number;
  /** selfTotal as a percentage of the trace's duration. */
  selfPercent: number;
}

export interface TraceStatistics {
  services: StatRow[];
  /** By service, then operation. */
  operations: StatRow[];
}

function row(service: string, operation: string): StatRow {
  return { service, operation, count: 0, errors: 0, total: 0, avg: 0, min: Infinity, max: 0, selfTotal: 0, selfAvg: 0, selfMin: Infinity, selfMax: 0, selfPercent: 0 };
}

export function statistics(trace: Trace): TraceStatistics {
  const services = new Map<string, StatRow>();
  const ops = new Map<string, StatRow>();
  for (const s of trace.spans) {
    let sr = services.get(s.service);
    if (!sr) services.set(s.service, (sr = row(s.service, "")));
    const k = `${s.service}\u0000${s.name}`;
    let or = ops.get(k);
    if (!or) ops.set(k, (or = row(s.service, s.name)));
    for (const r of [sr, or]) {
      r.count++;
      if (s.error) r.errors++;
      r.total += s.duration;
      r.min = Math.min(r.min, s.duration);
      r.max = Math.max(r.max, s.duration);
      r.selfTotal += s.selfTime;
      r.selfMin = Math.min(r.selfMin, s.selfTime);
      r.selfMax = Math.max(r.selfMax, s.selfTime);
    }
  }
  const finish = (r: StatRow) => {
    r.avg = r.total / r.count;
    r.selfAvg = r.selfTotal / r.count;
    r.selfPercent = trace.duration > 0 ? (r.selfTotal / trace.duration) * 100 : 0;
    return r;
  };
  const cmp = (a: StatRow, b: StatRow) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.operation < b.operation ? -1 : a.operation > b.operation ? 1 : 0);
  return {
    services: [...services.values()].map(finish).sort(cmp),
    operations: [...ops.values()].map(finish).sort(cmp),
  };
}
