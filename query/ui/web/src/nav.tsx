import { useEffect, useState } from "preact/hooks";
import { link, type Route } from "./router";
import { currentTheme, initTheme, setTheme, type Theme } from "./theme";

interface NavProps {
  route: Route;
}

const items: { id: string; to: string; label: string; title: string; active: (r: Route) => boolean }[] = [
  { id: "nav-search", to: "/search", label: "Search", title: "Find traces", active: (r) => r.name === "search" },
  { id: "nav-compare", to: "/trace-diff", label: "Compare", title: "Compare two traces", active: (r) => r.name === "diff" },
  {
    id: "nav-dependencies",
    to: "/dependencies",
    label: "System Architecture",
    title: "Service dependency graph",
    active: (r) => r.name === "dependencies",
  },
  { id: "nav-monitor", to: "/monitor", label: "Monitor", title: "Rate, errors and latency per service", active: (r) => r.name === "monitor" },
  { id: "nav-upload", to: "/upload", label: "JSON File", title: "View a trace from a JSON file", active: (r) => r.name === "upload" },
];

/** The top bar: the views, and the theme toggle. */
export function Nav({ route }: NavProps) {
  const [theme, setThemeState] = useState<Theme>(currentTheme);
  useEffect(() => initTheme(setThemeState), []);
  const next: Theme = theme === "dark" ? "light" : "dark";
  return (
    <header class="nav" role="banner">
      <a class="nav-brand" href={link("/search")} title="tracelake">
        <svg viewBox="0 0 16 16" width="18" height="18" aria-hidden="true">
          <rect x="1" y="3" width="9" height="2.4" rx="1" fill="currentColor" />
          <rect x="4" y="7" width="11" height="2.4" rx="1" fill="currentColor" opacity="0.75" />
          <rect x="6" y="11" width="6" height="2.4" rx="1" fill="currentColor" opacity="0.5" />
        </svg>
        tracelake
      </a>
      <nav class="nav-links" aria-label="Views">
        {items.map((it) => (
          <a
            key={it.id}
            data-testid={it.id}
            href={link(it.to)}
            title={it.title}
            class={it.active(route) ? "nav-link active" : "nav-link"}
            aria-current={it.active(route) ? "page" : undefined}
          >
            {it.label}
          </a>
        ))}
      </nav>
      <button
        type="button"
        class="nav-theme"
        data-testid="theme-toggle"
        title={`Switch to the ${next} theme`}
        aria-label={`Switch to the ${next} theme`}
        onClick={() => {
          setTheme(next);
          setThemeState(next);
        }}
      >
        {theme === "dark" ? "☀" : "☾"}
      </button>
    </header>
  );
}
