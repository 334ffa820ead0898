// Routing: every view has a URL, in Jaeger UI's scheme where it has one,
// so bookmarks and links made for Jaeger keep working. The router is
// history-based (pushState/popstate); the base path comes from the page's
// <base href>, so the UI also works under a path prefix.

import { useEffect, useState } from "preact/hooks";

export type Route =
  | { name: "redirect"; to: string }
  | { name: "search" }
  | { name: "trace"; id: string }
  | { name: "diff"; ids: string[] }
  | { name: "dependencies" }
  | { name: "monitor" }
  | { name: "upload" }
  | { name: "notfound" };

/**
 * Maps an app path (without the base path) to its view:
 *   /                       → redirect to /search
 *   /search                 → search
 *   /trace/{id}             → trace
 *   /trace/{a}...{b}        → compare (Jaeger's trace diff URL)
 *   /trace-diff?cohort=a&cohort=b → compare
 *   /dependencies, /monitor, /upload
 * Trailing slashes are ignored; anything else is "notfound".
 */
export function parseRoute(path: string): Route {
  const p = path.length > 1 ? path.replace(/\/+$/, "") : path;
  if (p === "" || p === "/") return { name: "redirect", to: "/search" };
  if (p === "/search") return { name: "search" };
  if (p === "/dependencies") return { name: "dependencies" };
  if (p === "/monitor") return { name: "monitor" };
  if (p === "/upload") return { name: "upload" };
  if (p === "/trace-diff") return { name: "diff", ids: [] };
  const m = /^\/trace\/([^/]+)$/.exec(p);
  if (m) {
    const ref = decodeURIComponent(m[1]);
    if (ref.includes("...")) return { name: "diff", ids: ref.split("...").filter((s) => s !== "") };
    return { name: "trace", id: ref };
  }
  return { name: "notfound" };
}

/** The base path the UI is served under, "" at the root, never ending in "/". */
export function basePath(): string {
  if (typeof document === "undefined") return "";
  return stripBase(new URL(document.baseURI).pathname);
}

function stripBase(p: string): string {
  return p.replace(/\/+$/, "");
}

/**
 * The href for an app path ("/trace/abc?x=1"): prefixed with the base path.
 * Use it for every <a href> so links work under a path prefix; clicks on
 * such links are turned into history navigation by installLinkHandler.
 */
export function link(to: string): string {
  return withBase(basePath(), to);
}

export function withBase(base: string, to: string): string {
  if (!to.startsWith("/")) to = "/" + to;
  return base + to;
}

/** The app path of a browser path: the base path removed. */
export function appPath(base: string, pathname: string): string {
  if (base && (pathname === base || pathname.startsWith(base + "/"))) {
    const rest = pathname.slice(base.length);
    return rest === "" ? "/" : rest;
  }
  return pathname;
}

export interface Location {
  path: string;
  params: URLSearchParams;
  /** The full app URL (path and query), for effects keyed on the whole URL. */
  href: string;
}

export function currentLocation(): Location {
  const path = appPath(basePath(), window.location.pathname);
  const search = window.location.search;
  return { path, params: new URLSearchParams(search), href: path + search };
}

const changeEvent = "tracelake:navigate";

/** Goes to an app path, pushing a history entry unless replace is set. */
export function navigate(to: string, opts?: { replace?: boolean }): void {
  const url = link(to);
  const here = window.location.pathname + window.location.search + window.location.hash;
  if (url === here) return;
  if (opts?.replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new Event(changeEvent));
  if (!opts?.replace) window.scrollTo(0, 0);
}

/** The current location, re-rendering on navigate and on back/forward. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(currentLocation);
  useEffect(() => {
    const update = () => {
      // A new view has not rendered yet; the view sets this once it has
      // (tests and the benchmark wait on it).
      delete document.documentElement.dataset.rendered;
      setLoc(currentLocation());
    };
    window.addEventListener("popstate", update);
    window.addEventListener(changeEvent, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(changeEvent, update);
    };
  }, []);
  return loc;
}

/**
 * Turns plain clicks on same-origin links inside the app into history
 * navigation, so pages can write ordinary <a href={link(…)}> elements and
 * still keep middle-click, ctrl-click and "open in new tab".
 */
export function installLinkHandler(root: HTMLElement): () => void {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    // Element, not HTMLAnchorElement: SVG <a> elements count too.
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || !root.contains(a)) return;
    const target = a.getAttribute("target");
    if (target && target !== "_self") return;
    if (a.hasAttribute("download") || a.getAttribute("rel") === "external") return;
    const href = a.getAttribute("href") ?? a.getAttribute("xlink:href");
    if (!href || href.startsWith("#")) return;
    const url = new URL(href, document.baseURI);
    if (url.origin !== window.location.origin) return;
    const base = basePath();
    if (base && !(url.pathname === base || url.pathname.startsWith(base + "/"))) return;
    e.preventDefault();
    navigate(appPath(base, url.pathname) + url.search + url.hash);
  };
  root.addEventListener("click", onClick);
  return () => root.removeEventListener("click", onClick);
}
