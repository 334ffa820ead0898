// The web UI's main flows in Firefox, run by TestWebUI (cmd/tracelake/e2e_ui_test.go)
// after the Chromium walk (ui.mjs), against the same seeded all-in-one:
// search → open a trace → collapse/expand → span detail → table and flame
// graph → compare two traces → dependencies → monitor → upload a Jaeger JSON
// file through the file input → dark theme. A screenshot of every page goes
// to fx.outDir; any console error, uncaught exception or failed request
// fails the walk.
//
// playwright-core drives only its own patched Firefox builds, which cannot be
// downloaded here, so this drives the stock browser (Debian's firefox-esr,
// $TRACELAKE_FIREFOX_BIN) with puppeteer-core over WebDriver BiDi, the W3C
// protocol Firefox implements itself. The API differs from playwright's
// (page.select, page.waitForFunction(fn, options, ...args), no auto-waiting
// locators), so the steps here are written for it rather than shared.
import puppeteer from "puppeteer-core";
import { join } from "node:path";
import { readFixture, watch } from "./browser.mjs";

const fx = await readFixture();
const executablePath = fx.firefox || process.env.TRACELAKE_FIREFOX_BIN || "/usr/bin/firefox-esr";
const started = Date.now();
const browser = await puppeteer.launch({
  browser: "firefox",
  protocol: "webDriverBiDi",
  executablePath,
  headless: true,
  timeout: 60_000,
  defaultViewport: { width: 1400, height: 900 },
  extraPrefsFirefox: {
    // Light, whatever the machine prefers: the dark theme is toggled below.
    "layout.css.prefers-color-scheme.content-override": 1,
  },
});
console.log(`${await browser.version()} (${executablePath}) started in ${Date.now() - started} ms`);
const page = await browser.newPage();
page.setDefaultTimeout(15_000);
const watcher = watch(page, "firefox");

let failed = false;

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function shot(name) {
  await page.screenshot({ path: join(fx.outDir, `${name}.png`), fullPage: true });
}

async function step(name, fn) {
  if (failed) return;
  const t0 = Date.now();
  const before = watcher.problems.length;
  try {
    await fn();
    if (watcher.problems.length > before) throw new Error(`the page reported problems:\n  ${watcher.problems.slice(before).join("\n  ")}`);
    console.log(`ok    ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    console.log(`FAIL  ${name} (${Date.now() - t0} ms, at ${page.url()}):\n  ${String(e.stack || e).split("\n").join("\n  ")}`);
    await shot(`FAILED-${name}`).catch(() => {});
  }
}

const tid = (id) => `[data-testid="${id}"]`;
const url = () => new URL(page.url());
const count = (sel) => page.$$eval(sel, (els) => els.length);
const text = async (sel) => (await page.$eval(sel, (e) => e.textContent)) ?? "";
const attrs = (sel, name) => page.$$eval(sel, (els, n) => els.map((e) => e.getAttribute(n)), name);

/** Clears the rendered marker, so the next waitRendered waits for a new render. */
async function unmark() {
  await page.evaluate(() => delete document.documentElement.dataset.rendered);
}

/** Waits until the view `name` has rendered with data (document.documentElement.dataset.rendered). */
async function waitRendered(name, timeout = 20_000) {
  await page.waitForFunction((n) => document.documentElement.dataset.rendered === n, { timeout }, name);
}

async function waitPath(pathname) {
  await page.waitForFunction((p) => location.pathname === p, {}, pathname);
}

async function waitCount(sel, pred, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let n = -1;
  while (Date.now() < deadline) {
    n = await count(sel);
    if (pred(n)) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: ${sel} counted ${n}`);
}

/** Replaces a text field's value by typing, as a user would. */
async function typeInto(sel, value) {
  await page.click(sel, { count: 3 });
  await page.keyboard.press("Backspace");
  if (value) await page.type(sel, value);
}

// ---------------------------------------------------------------- search

await step("search by service and operation", async () => {
  await page.goto(fx.baseURL + "/");
  await waitPath("/search");
  await waitRendered("search");
  await page.waitForSelector(`${tid("search-service")} option[value="frontend"]`);
  for (const s of fx.services) check((await count(`${tid("search-service")} option[value="${s}"]`)) === 1, `service ${s} missing from the service list`);
  await page.select(tid("search-service"), "frontend");
  await page.waitForSelector(`${tid("search-operation")} option[value="GET /deep"]`);
  await page.select(tid("search-operation"), "GET /deep");
  await unmark();
  await page.click(tid("search-submit"));
  await waitRendered("search");
  check(url().searchParams.get("service") === "frontend" && url().searchParams.get("operation") === "GET /deep", `search URL is ${page.url()}`);
  await waitCount(tid("result-item"), (n) => n === 1, "one trace of GET /deep");
  const [id] = await attrs(tid("result-item"), "data-trace-id");
  check(id === fx.deepTrace, `the result is ${id}, want ${fx.deepTrace}`);
  await page.waitForSelector(tid("scatter-plot"));
  await shot("01-search-results");
});

await step("search by tags and sort", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/search?service=payment&lookback=1h&limit=100`);
  await waitRendered("search");
  const n = await text(".results-count");
  check(/\b20 traces\b/.test(n), `payment search shows "${n}", want 20 traces`);
  await page.select(tid("sort-select"), "longest");
  await page.waitForFunction((sel, w) => document.querySelector(sel)?.getAttribute("data-trace-id") === w, {}, tid("result-item"), fx.checkoutTraces[19]);
  check(url().searchParams.get("sort") === "longest", `sort is not in the URL ${page.url()}`);
  await unmark();
  await page.goto(`${fx.baseURL}/search?lookback=1h`);
  await waitRendered("search");
  await typeInto(tid("search-tags"), "compare=yes");
  await unmark();
  await page.click(tid("search-submit"));
  await waitRendered("search");
  await waitCount(tid("result-item"), (n) => n === 2, "two traces tagged compare=yes");
  const ids = (await attrs(tid("result-item"), "data-trace-id")).sort();
  check(JSON.stringify(ids) === JSON.stringify([fx.compareA, fx.compareB].sort()), `compare=yes found ${ids}`);
  await shot("02-search-tags");
});

// ----------------------------------------------------------------- trace

await step("open a trace from the results", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/search?service=frontend&operation=${encodeURIComponent("GET /deep")}&lookback=1h`);
  await waitRendered("search");
  await unmark();
  await page.click(`${tid("result-item")}[data-trace-id="${fx.deepTrace}"] a.result-title`);
  await waitRendered("trace");
  check(url().pathname === `/trace/${fx.deepTrace}`, `trace URL is ${page.url()}`);
  const header = await text(tid("trace-header"));
  for (const want of ["GET /deep", "frontend", String(fx.deepSpans)]) check(header.includes(want), `trace header lacks "${want}": ${header}`);
  await page.waitForSelector(tid("minimap"));
  await waitCount(tid("span-row"), (n) => n > 10, "span rows of the deep trace");
  await shot("03-trace-timeline");
});

await step("collapse and expand a span", async () => {
  const before = await count(tid("span-row"));
  await page.click(`${tid("span-row")} ${tid("span-toggle")}`);
  await waitCount(tid("span-row"), (n) => n === 1, "rows after collapsing the root");
  await shot("04-trace-collapsed");
  await page.click(`${tid("span-row")} ${tid("span-toggle")}`);
  await waitCount(tid("span-row"), (n) => n === before, "rows after expanding the root again");
});

await step("keyboard navigation and span detail", async () => {
  await page.click(tid("span-row"));
  await page.waitForSelector(tid("span-detail"));
  const [firstID] = await attrs(tid("span-row"), "data-span-id");
  await page.keyboard.press("ArrowDown");
  const active = await page.evaluate(() => {
    const a = document.activeElement?.closest('[data-testid="span-row"]');
    const sel = document.querySelector('[data-testid="span-row"][aria-selected="true"]');
    return (a ?? sel)?.getAttribute("data-span-id") ?? null;
  });
  check(active !== null && active !== firstID, `ArrowDown did not move to the next span (at ${active}, first ${firstID})`);
  // A leaf: its attributes, event and IDs.
  const leaf = await page.waitForSelector(`::-p-xpath(//*[@data-testid="span-row"][contains(., "SELECT items")])`);
  const spanID = await leaf.evaluate((e) => e.getAttribute("data-span-id"));
  await leaf.click();
  await page.waitForFunction((sel, id) => document.querySelector(sel)?.textContent?.includes(id), {}, tid("span-detail"), spanID);
  const detail = await text(tid("span-detail"));
  for (const want of ["db.system", "postgresql", "rows fetched", "service.version"]) check(detail.includes(want), `span detail lacks "${want}": ${detail.slice(0, 400)}`);
  await shot("05-trace-span-detail");
});

await step("table and flame graph views", async () => {
  for (const [view, testid] of [
    ["table", "span-table"],
    ["flamegraph", "flame-graph"],
    ["timeline", "trace-timeline"],
  ]) {
    await page.select(tid("view-select"), view);
    await page.waitForSelector(tid(testid));
    check((await text(tid(testid))).length > 0, `the ${view} view is empty`);
    if (view !== "timeline") await shot(`06-trace-${view}`);
  }
  check(url().searchParams.get("view") === null || url().searchParams.get("view") === "timeline", `back on the timeline the URL is ${page.url()}`);
  check((await count(tid("span-table"))) === 0, "the table stays after switching back to the timeline");
});

// --------------------------------------------------------------- compare

await step("compare two traces from the search", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/search?lookback=1h&tags=${encodeURIComponent("compare=yes")}`);
  await waitRendered("search");
  await waitCount(tid("result-item"), (n) => n === 2, "the two compare=yes traces");
  for (const id of [fx.compareA, fx.compareB]) await page.click(`${tid("result-item")}[data-trace-id="${id}"] ${tid("result-select")}`);
  await unmark();
  await page.click(tid("compare-button"));
  await waitRendered("diff");
  const p = decodeURIComponent(url().pathname);
  check(p === `/trace/${fx.compareA}...${fx.compareB}` || p === `/trace/${fx.compareB}...${fx.compareA}`, `compare URL is ${page.url()}`);
  await waitCount(tid("diff-node"), (n) => n >= 4, "diff nodes");
  const changes = await page.$$eval(tid("diff-node"), (els) => Object.fromEntries(els.map((e) => [e.textContent?.trim() ?? "", e.getAttribute("data-change")])));
  const find = (name) => Object.entries(changes).find(([k]) => k.includes(name))?.[1];
  const aFirst = p.startsWith(`/trace/${fx.compareA}`);
  check(find("apply coupon") === (aFirst ? "added" : "removed"), `"apply coupon" is ${find("apply coupon")}: ${JSON.stringify(changes)}`);
  check(find("legacy pricing") === (aFirst ? "removed" : "added"), `"legacy pricing" is ${find("legacy pricing")}`);
  check(find("load cart") === "changed", `"load cart" is ${find("load cart")}`);
  await shot("07-compare");
});

// ---------------------------------------------------------- dependencies

await step("dependencies", async () => {
  await unmark();
  await page.click(tid("nav-dependencies"));
  await waitRendered("dependencies");
  check(url().pathname === "/dependencies", `dependencies URL is ${page.url()}`);
  const nodes = (await attrs(tid("dependency-node"), "data-service")).sort();
  check(JSON.stringify(nodes) === JSON.stringify(fx.services), `graph nodes ${nodes}, want ${fx.services}`);
  const edges = await page.$$eval(tid("dependency-edge"), (els) =>
    els.map((e) => ({ parent: e.getAttribute("data-from"), child: e.getAttribute("data-to"), calls: Number(e.getAttribute("data-calls")) })),
  );
  edges.sort((a, b) => (a.parent + "\0" + a.child < b.parent + "\0" + b.child ? -1 : 1));
  check(JSON.stringify(edges) === JSON.stringify(fx.edges), `graph edges ${JSON.stringify(edges)}, want ${JSON.stringify(fx.edges)}`);
  const label = await text(`${tid("dependency-edge")}[data-from="checkout"][data-to="payment"] text`);
  check(label === String(fx.edges.find((e) => e.parent === "checkout" && e.child === "payment").calls), `checkout → payment label "${label}"`);
  // Callers left of callees: SVG layout as Firefox draws it.
  const x = async (s) => (await (await page.$(`${tid("dependency-node")}[data-service="${s}"]`)).boundingBox()).x;
  check((await x("frontend")) < (await x("checkout")) && (await x("checkout")) < (await x("payment")), "the graph is not laid out left to right");
  await shot("08-dependencies");
  // A service opens its search; back returns to the graph.
  await unmark();
  await page.click(`${tid("dependency-node")}[data-service="checkout"]`);
  await page.waitForFunction(() => location.pathname === "/search" && new URLSearchParams(location.search).get("service") === "checkout");
  await waitRendered("search");
  await page.evaluate(() => history.back());
  await waitPath("/dependencies");
  await page.waitForSelector(tid("dependency-graph"));
});

// --------------------------------------------------------------- monitor

await step("monitor", async () => {
  await unmark();
  await page.click(tid("nav-monitor"));
  await waitPath("/monitor");
  await page.waitForSelector(`${tid("monitor-service")} option[value="payment"]`);
  await unmark();
  await page.select(tid("monitor-service"), "payment");
  await waitRendered("monitor");
  check(url().searchParams.get("service") === "payment", `monitor URL is ${page.url()}`);
  const metrics = (await attrs(tid("monitor-chart"), "data-metric")).sort();
  check(JSON.stringify(metrics) === JSON.stringify(["errors", "latency", "rate"]), `charts ${metrics}`);
  for (const m of ["rate", "errors", "latency"]) check((await count(`${tid("monitor-chart")}[data-metric="${m}"] svg :is(polyline, circle)`)) > 0, `the ${m} chart draws nothing`);
  // Five of the twenty charges were declined.
  const row = await text(`${tid("monitor-operations")} tbody tr[data-operation="POST /charge"]`);
  check(row.includes("25%"), `POST /charge should show a 25% error rate: ${row}`);
  await shot("09-monitor");
  await unmark();
  await page.select(tid("monitor-service"), "frontend");
  await waitRendered("monitor");
  const names = () => attrs(`${tid("monitor-operations")} tbody tr`, "data-operation");
  for (const op of ["GET /checkout", "GET /", "GET /deep", "GET /compare"]) check((await names()).includes(op), `operations table lacks ${op}: ${await names()}`);
  await page.click(`${tid("monitor-operations")} button[data-sort="operation"]`);
  const asc = await names();
  check(JSON.stringify(asc) === JSON.stringify([...asc].sort((a, b) => a.localeCompare(b))), `sorted by name: ${asc}`);
});

// ---------------------------------------------------------------- upload

await step("upload a Jaeger JSON file", async () => {
  await page.click(tid("nav-upload"));
  await waitPath("/upload");
  await page.waitForSelector(tid("upload-drop"));
  await shot("10-upload");
  const input = await page.$(tid("upload-input"));
  await input.uploadFile(fx.jaegerFile);
  await page.waitForSelector(tid("trace-header"));
  await waitCount(tid("span-row"), (n) => n === fx.jaegerSpans, "span rows of the uploaded Jaeger trace");
  const ids = await attrs(tid("span-row"), "data-span-id");
  check(ids.every((id) => /^[0-9a-f]{16}$/.test(id ?? "")), `span IDs ${ids}`);
  const header = await text(tid("trace-header"));
  check(header.includes("GET /checkout"), `uploaded trace header: ${header}`);
  await shot("11-upload-jaeger");
});

// ----------------------------------------------------------------- theme

await step("dark theme", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/dependencies`);
  await waitRendered("dependencies");
  const before = await page.evaluate(() => document.documentElement.dataset.theme ?? "light");
  check(before === "light", `the page starts in the ${before} theme, want light`);
  const lightBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.click(tid("theme-toggle"));
  const after = await page.evaluate(() => document.documentElement.dataset.theme);
  check(after === "dark", `the theme toggle left the theme at ${after}`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  check(bg !== lightBg, `the dark theme's body background is the light theme's (${bg})`);
  await shot("12-dependencies-dark");
  await unmark();
  await page.goto(`${fx.baseURL}/trace/${fx.deepTrace}`);
  await waitRendered("trace");
  check((await page.evaluate(() => document.documentElement.dataset.theme)) === "dark", "the theme did not survive a reload");
  await shot("13-trace-dark");
});

await browser.close();
const problems = watcher.problems;
if (problems.length > 0) {
  console.log(`the pages reported ${problems.length} problems:\n  ${problems.join("\n  ")}`);
  failed = true;
}
console.log(`${failed ? "FAILED" : "passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${fx.outDir}`);
process.exit(failed ? 1 : 0);
