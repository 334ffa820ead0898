// Fetching from the query service's public APIs. Every failure becomes an
// ApiError whose message is fit to show a user.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Builds "/api/x?k=v" from a path and parameters, skipping empty values. */
export function apiURL(path: string, params?: Record<string, string | string[] | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v === undefined || v === "") continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * GETs JSON. Errors name the problem: the server's own message when it sent
 * one (Jaeger's {"errors":[{"msg":…}]}, api_v3's {"error":{"message":…}} or
 * {"message":…}), else the status.
 */
export async function getJSON<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { Accept: "application/json", ...(init?.headers ?? {}) } });
  } catch (e) {
    throw new ApiError(`cannot reach the query service (${(e as Error).message})`, 0);
  }
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    if (res.ok) throw new ApiError(`${url} answered something that is not JSON`, res.status);
  }
  if (!res.ok) throw new ApiError(errorMessage(body) ?? `${url}: ${res.status} ${res.statusText || text.slice(0, 200)}`, res.status);
  return body as T;
}

function errorMessage(body: unknown): string | undefined {
  if (!body || typeof body !== "object") return undefined;
  const b = body as Record<string, any>;
  if (Array.isArray(b.errors) && b.errors.length > 0) return String(b.errors[0].msg ?? b.errors[0].message ?? "");
  if (b.error && typeof b.error === "object" && b.error.message) return String(b.error.message);
  if (typeof b.message === "string") return b.message;
  return undefined;
}
