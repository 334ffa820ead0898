// One colour per service, the same on every page (search badges, timeline
// bars, flame graph, dependency graph, monitor charts). The palette reads on
// both themes.
const palette = [
  "#17becf", "#e377c2", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#1f77b4",
  "#bcbd22", "#d62728", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39",
  "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363",
];

const cache = new Map<string, string>();

/** A stable colour for a service name (FNV-1a hash into the palette). */
export function serviceColor(service: string): string {
  let c = cache.get(service);
  if (c) return c;
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  c = palette[h % palette.length];
  cache.set(service, c);
  return c;
}
