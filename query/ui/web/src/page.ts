// The contract between the router (app.tsx) and every page component.
// A page reads its state from the URL only, so every view is a deep link.

export interface PageProps {
  /** The URL path, e.g. "/trace/4bf92f3577b34da6a3ce929d0e0e4736". */
  path: string;
  /** The URL query, e.g. service=frontend&lookback=1h. */
  params: URLSearchParams;
  /** Goes to another view, pushing a history entry unless replace is set. */
  navigate: (to: string, opts?: { replace?: boolean }) => void;
}
