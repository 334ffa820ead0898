// The loading, empty and error states every view shows, with the test IDs
// the browser tests look for. Errors are shown in words.

import type { ComponentChildren } from "preact";

export function Loading({ what }: { what?: string }) {
  return (
    <div class="state state-loading" data-testid="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {what ? `Loading ${what}…` : "Loading…"}
    </div>
  );
}

export function EmptyState({ children }: { children: ComponentChildren }) {
  return (
    <div class="state state-empty" data-testid="empty-state">
      {children}
    </div>
  );
}

export function ErrorMessage({ error, children }: { error?: unknown; children?: ComponentChildren }) {
  const msg = error === undefined ? null : error instanceof Error ? error.message : String(error);
  return (
    <div class="state state-error" data-testid="error-message" role="alert">
      {children}
      {msg}
    </div>
  );
}

/** Records that a view finished its first render with data (tests and the benchmark wait on it). */
export function markRendered(view: string): void {
  document.documentElement.dataset.rendered = view;
}
