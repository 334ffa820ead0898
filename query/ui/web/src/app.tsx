import { useEffect } from "preact/hooks";
import { DependenciesPage } from "./dependencies";
import { MonitorPage } from "./monitor";
import { Nav } from "./nav";
import type { PageProps } from "./page";
import { link, navigate, parseRoute, useLocation, type Route } from "./router";
import { SearchPage } from "./search";
import { ErrorMessage, markRendered } from "./states";
import { TraceDiffPage, TracePage } from "./trace";
import { UploadPage } from "./upload";

const titles: Record<Route["name"], string> = {
  redirect: "",
  search: "Search",
  trace: "Trace",
  diff: "Compare traces",
  dependencies: "System Architecture",
  monitor: "Monitor",
  upload: "JSON File",
  notfound: "Not found",
};

/** The app: the nav bar and the view the URL names. */
export function App() {
  const loc = useLocation();
  const route = parseRoute(loc.path);

  useEffect(() => {
    if (route.name === "redirect") {
      const q = loc.params.toString();
      navigate(route.to + (q ? `?${q}` : ""), { replace: true });
    }
  }, [loc.href]);

  useEffect(() => {
    const t = titles[route.name];
    document.title = t ? `${t} — tracelake` : "tracelake";
  }, [route.name]);

  useEffect(() => {
    if (route.name === "notfound") markRendered("notfound");
  }, [loc.href]);

  const props: PageProps = { path: loc.path, params: loc.params, navigate };
  return (
    <>
      <Nav route={route} />
      <main class="page" id="main">
        <View route={route} props={props} />
      </main>
    </>
  );
}

function View({ route, props }: { route: Route; props: PageProps }) {
  switch (route.name) {
    case "redirect":
      return null;
    case "search":
      return <SearchPage {...props} />;
    case "trace":
      return <TracePage {...props} />;
    case "diff":
      return <TraceDiffPage {...props} />;
    case "dependencies":
      return <DependenciesPage {...props} />;
    case "monitor":
      return <MonitorPage {...props} />;
    case "upload":
      return <UploadPage {...props} />;
    case "notfound":
      return (
        <ErrorMessage>
          There is no view at <code>{props.path}</code>. Go to <a href={link("/search")}>Search</a>.
        </ErrorMessage>
      );
  }
}
