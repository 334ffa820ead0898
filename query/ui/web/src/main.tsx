// Entry point of the bundle (build.mjs): styles, theme, router, app.
import { render } from "preact";
import "./theme.css";
import "./app.css";
import { App } from "./app";
import { installLinkHandler } from "./router";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");
installLinkHandler(document.body);
render(<App />, root);
