// Light and dark themes. The choice is kept in localStorage; without one
// the system preference applies (and is followed when it changes).
// index.html applies the stored theme before the first paint, so there is
// no flash of the wrong theme.

export type Theme = "light" | "dark";

export const themeKey = "tracelake.theme";

export function storedTheme(): Theme | null {
  try {
    const v = window.localStorage.getItem(themeKey);
    return v === "light" || v === "dark" ? v : null;
  } catch {
    return null; // storage disabled: follow the system
  }
}

export function systemTheme(): Theme {
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function currentTheme(): Theme {
  return document.documentElement.dataset.theme === "dark" ? "dark" : "light";
}

export function applyTheme(t: Theme): void {
  document.documentElement.dataset.theme = t;
}

export function setTheme(t: Theme): void {
  applyTheme(t);
  try {
    window.localStorage.setItem(themeKey, t);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

/** Applies the stored or system theme and follows system changes while nothing is stored. */
export function initTheme(onChange: (t: Theme) => void): () => void {
  applyTheme(storedTheme() ?? systemTheme());
  const mq = window.matchMedia?.("(prefers-color-scheme: dark)");
  if (!mq) return () => {};
  const listener = () => {
    if (storedTheme() === null) {
      applyTheme(systemTheme());
      onChange(currentTheme());
    }
  };
  mq.addEventListener("change", listener);
  return () => mq.removeEventListener("change", listener);
}
