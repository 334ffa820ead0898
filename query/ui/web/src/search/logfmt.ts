// Tags in the search form are logfmt, as in Jaeger UI: `error=true
// http.status_code=500 db.statement="select 1"`. A bare key means
// key=true (logfmt's convention, which Jaeger UI follows).

/** Parses logfmt into a map; throws an Error naming the problem. */
export function parseLogfmt(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r";
  while (i < n) {
    while (i < n && isSpace(text[i])) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && !isSpace(text[i]) && text[i] !== "=") {
      if (text[i] === '"') throw new Error(`tags: unexpected quote at position ${i + 1}; quote values, not keys (key="a value")`);
      i++;
    }
    const key = text.slice(keyStart, i);
    if (key === "") throw new Error(`tags: a value without a key at position ${i + 1}; write key=value`);
    if (i >= n || text[i] !== "=") {
      out[key] = "true";
      continue;
    }
    i++; // '='
    let value = "";
    if (i < n && text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i];
        if (c === "\\" && i + 1 < n) {
          const e = text[i + 1];
          value += e === "n" ? "\n" : e === "t" ? "\t" : e;
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new Error(`tags: the quoted value of "${key}" is not closed; add a closing "`);
      if (i < n && !isSpace(text[i])) throw new Error(`tags: put a space after the quoted value of "${key}"`);
    } else {
      const vStart = i;
      while (i < n && !isSpace(text[i])) {
        if (text[i] === '"') throw new Error(`tags: the value of "${key}" has a quote inside; quote the whole value (${key}="…")`);
        i++;
      }
      value = text.slice(vStart, i);
    }
    out[key] = value;
  }
  return out;
}

/** Writes a map as logfmt, quoting values that need it. */
export function formatLogfmt(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${/^[^\s"=\\]+$/.test(v) ? v : quote(v)}`)
    .join(" ");
}

function quote(v: string): string {
  return '"' + v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t") + '"';
}
