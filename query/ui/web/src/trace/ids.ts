// Trace and span IDs: lowercase hex, zero-padded to their full width
// (32 digits for a trace, 16 for a span), whichever way a file wrote them.

const hexRe = /^[0-9a-fA-F]+$/;
const b64Re = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Normalises an ID written as hex (OTLP JSON, Jaeger JSON) or as base64
 * (protobuf's canonical JSON, which some exporters write). bytes is the
 * ID's width: 16 for a trace, 8 for a span. Throws when it is neither.
 */
export function normalizeID(raw: unknown, bytes: 8 | 16, what: string): string {
  if (raw === undefined || raw === null || raw === "") return "";
  if (typeof raw !== "string") throw new Error(`${what} is not a string: ${JSON.stringify(raw)}`);
  const hexLen = bytes * 2;
  if (hexRe.test(raw) && raw.length <= hexLen) return raw.toLowerCase().padStart(hexLen, "0");
  // base64 of 8 bytes is 12 characters, of 16 bytes 24: never a hex length.
  if (b64Re.test(raw) && (raw.length === Math.ceil(bytes / 3) * 4 || raw.replace(/=+$/, "").length === Math.ceil((bytes * 4) / 3))) {
    let bin: string;
    try {
      bin = atob(raw.replace(/-/g, "+").replace(/_/g, "/"));
    } catch {
      throw new Error(`${what} ${JSON.stringify(raw)} is neither hex nor base64`);
    }
    if (bin.length === bytes) {
      let out = "";
      for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, "0");
      return out;
    }
  }
  throw new Error(`${what} ${JSON.stringify(raw)} is neither ${hexLen} hex digits nor base64 of ${bytes} bytes`);
}

/** True for an ID of only zeros, which OTLP uses for "none". */
export function isZeroID(id: string): boolean {
  return /^0*$/.test(id);
}

/** Checks a trace ID typed or linked by a user; returns it normalised or throws. */
export function parseTraceIDParam(raw: string): string {
  const s = raw.trim();
  if (!hexRe.test(s) || s.length > 32) throw new Error(`"${raw}" is not a trace ID (up to 32 hex digits)`);
  return s.toLowerCase().padStart(32, "0");
}
