// Shared by the browser tests (ui.mjs) and the benchmark (bench.mjs):
// launching Debian's Chromium through playwright-core, and watching a page
// for console errors, uncaught exceptions and failed requests.
//
// These scripts are run by Go (cmd/tracelake/e2e_ui_test.go), which starts
// the server, seeds it and passes a JSON fixture file as the only argument.
import { chromium } from "playwright-core";
import { readFile } from "node:fs/promises";

/** Reads the fixture file named by the first argument. */
export async function readFixture() {
  const path = process.argv[2];
  if (!path) {
    console.error(`usage: node ${process.argv[1]} FIXTURE.json (written by the Go test that runs this script)`);
    process.exit(2);
  }
  return JSON.parse(await readFile(path, "utf8"));
}

/** Starts headless Chromium: $TRACELAKE_CHROMIUM_BIN, else /usr/bin/chromium. */
export async function launch(fx) {
  const executablePath = fx.chromium || process.env.TRACELAKE_CHROMIUM_BIN || "/usr/bin/chromium";
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/**
 * Records everything that must fail a test: console errors and assertion
 * failures, uncaught exceptions and unhandled rejections, requests that
 * failed (other than those aborted on purpose), and answers of 400 or more.
 * `allow(substring)` expects failures of URLs containing it until the
 * returned function is called.
 */
export function watch(page, label = "page") {
  const problems = [];
  const allowed = new Set();
  const isAllowed = (url) => [...allowed].some((a) => url.includes(a));
  page.on("console", (msg) => {
    if (msg.type() !== "error" && msg.type() !== "assert") return;
    const where = msg.location()?.url ?? "";
    // Chromium logs "Failed to load resource" for every error answer; the
    // answer itself is checked below.
    if (/^Failed to load resource/.test(msg.text()) && (isAllowed(where) || isAllowed(msg.text()))) return;
    problems.push(`${label}: console.${msg.type()}: ${msg.text()}${where ? ` (${where})` : ""}`);
  });
  page.on("pageerror", (err) => problems.push(`${label}: uncaught exception: ${err.stack || err.message}`));
  page.on("requestfailed", (req) => {
    const text = req.failure()?.errorText ?? "";
    // fetch() aborted by the page (AbortController on navigation), or a
    // download the page started and the test did not keep.
    if (text.includes("ERR_ABORTED") || text.includes("NS_BINDING_ABORTED")) return;
    if (isAllowed(req.url())) return;
    problems.push(`${label}: request failed: ${req.method()} ${req.url()}: ${text}`);
  });
  page.on("response", (res) => {
    if (res.status() >= 400 && !isAllowed(res.url())) problems.push(`${label}: ${res.status()} ${res.statusText()} for ${res.request().method()} ${res.url()}`);
  });
  return {
    problems,
    allow(substring) {
      allowed.add(substring);
      return () => allowed.delete(substring);
    },
  };
}

/** Waits until the view named `name` has rendered with data (document.documentElement.dataset.rendered). */
export async function waitRendered(page, name, timeout = 20_000) {
  await page.waitForFunction((n) => document.documentElement.dataset.rendered === n, name, { timeout });
}
