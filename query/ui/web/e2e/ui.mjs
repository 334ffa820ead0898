// The browser walk of the web UI, run by TestWebUI (cmd/tracelake/e2e_ui_test.go)
// against a real all-in-one the Go test seeded: search → open a trace →
// collapse/expand → span detail → critical path, find, the other views →
// compare two traces → dependencies → monitor → upload Jaeger and OTLP
// JSON files, plus deep links, the back button, the dark theme and errors
// shown in words. A screenshot of every page goes to fx.outDir. Any
// console error, uncaught exception or failed request fails the walk.
import { join } from "node:path";
import { launch, readFixture, waitRendered, watch } from "./browser.mjs";

const fx = await readFixture();
const browser = await launch(fx);
const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: "light", acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(15_000);
const watcher = watch(page);

let failed = false;
const started = Date.now();

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

/** Clears the rendered marker, so the next waitRendered waits for a new render. */
async function unmark() {
  await page.evaluate(() => delete document.documentElement.dataset.rendered);
}

const tid = (id) => `[data-testid="${id}"]`;
const count = (sel) => page.locator(sel).count();
const path = () => new URL(page.url()).pathname;
const query = () => new URL(page.url()).searchParams;

async function waitCount(sel, pred, what, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let n = -1;
  while (Date.now() < deadline) {
    n = await count(sel);
    if (pred(n)) return n;
    await page.waitForTimeout(50);
  }
  throw new Error(`${what}: ${sel} counted ${n}`);
}

// ---------------------------------------------------------------- search

await step("root redirects to search", async () => {
  await page.goto(fx.baseURL + "/");
  await page.waitForURL((u) => u.pathname === "/search");
  await waitRendered(page, "search");
  await page.locator(tid("search-form")).waitFor();
  await page.locator(`${tid("search-service")} option[value="frontend"]`).waitFor({ state: "attached" });
  for (const s of fx.services) check((await count(`${tid("search-service")} option[value="${s}"]`)) === 1, `service ${s} missing from the service list`);
  await shot("01-search-empty");
});

await step("search by service and operation", async () => {
  await page.selectOption(tid("search-service"), "frontend");
  await page.locator(`${tid("search-operation")} option[value="GET /deep"]`).waitFor({ state: "attached" });
  await page.selectOption(tid("search-operation"), "GET /deep");
  await unmark();
  await page.click(tid("search-submit"));
  await waitRendered(page, "search");
  check(query().get("service") === "frontend" && query().get("operation") === "GET /deep", `search URL is ${page.url()}`);
  await waitCount(tid("result-item"), (n) => n === 1, "one trace of GET /deep");
  const id = await page.locator(tid("result-item")).getAttribute("data-trace-id");
  check(id === fx.deepTrace, `the result is ${id}, want ${fx.deepTrace}`);
  await page.locator(tid("scatter-plot")).waitFor();
  await shot("02-search-results");
});

await step("search by tags, sort orders, errors marked", async () => {
  // A search of the service all checkout traces reach: 20 traces.
  await unmark();
  await page.goto(`${fx.baseURL}/search?service=payment&lookback=1h&limit=100`);
  await waitRendered(page, "search");
  await page.locator(tid("search-results")).waitFor();
  const countText = await page.locator(".results-count").textContent();
  check(/\b20 traces\b/.test(countText ?? ""), `payment search shows "${countText}", want 20 traces`);
  const first = () => page.locator(tid("result-item")).first().getAttribute("data-trace-id");
  const sorts = { shortest: fx.checkoutTraces[0], longest: fx.checkoutTraces[19], recent: fx.checkoutTraces[19], errors: fx.checkoutTraces[16] };
  for (const [sort, want] of Object.entries(sorts)) {
    await page.selectOption(tid("sort-select"), sort);
    await page.waitForFunction(
      ([sel, w]) => document.querySelector(sel)?.getAttribute("data-trace-id") === w,
      [tid("result-item"), want],
      { timeout: 5000 },
    ).catch(async () => {
      throw new Error(`sort ${sort}: first result ${await first()}, want ${want}`);
    });
    check(query().get("sort") === sort, `sort ${sort} is not in the URL ${page.url()}`);
  }
  check((await count(`${tid("result-item")}.has-error`)) > 0, "no result is marked as having errors");
  // Tags in logfmt.
  await unmark();
  await page.goto(`${fx.baseURL}/search?lookback=1h`);
  await waitRendered(page, "search");
  await page.fill(tid("search-tags"), "compare=yes");
  await unmark();
  await page.click(tid("search-submit"));
  await waitRendered(page, "search");
  await waitCount(tid("result-item"), (n) => n === 2, "two traces tagged compare=yes");
  const ids = await page.locator(tid("result-item")).evaluateAll((els) => els.map((e) => e.getAttribute("data-trace-id")).sort());
  check(JSON.stringify(ids) === JSON.stringify([fx.compareA, fx.compareB].sort()), `compare=yes found ${ids}`);
  await shot("03-search-tags");
});

await step("bad search input is named", async () => {
  await page.fill(tid("search-min-duration"), "soon");
  await page.click(tid("search-submit"));
  const msg = await page.locator(tid("error-message")).first().textContent();
  check(/soon/.test(msg ?? "") || /duration/i.test(msg ?? ""), `error for a bad min duration: "${msg}"`);
  await page.fill(tid("search-min-duration"), "");
});

// ----------------------------------------------------------------- trace

await step("open a trace from the results", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/search?service=frontend&operation=${encodeURIComponent("GET /deep")}&lookback=1h`);
  await waitRendered(page, "search");
  await unmark();
  await page.locator(`${tid("result-item")}[data-trace-id="${fx.deepTrace}"] a.result-title`).click();
  await waitRendered(page, "trace");
  check(path() === `/trace/${fx.deepTrace}`, `trace URL is ${page.url()}`);
  const header = (await page.locator(tid("trace-header")).textContent()) ?? "";
  check(header.includes("GET /deep"), `trace header lacks the root operation: ${header}`);
  check(header.includes("frontend"), `trace header lacks the root service: ${header}`);
  check(header.includes(String(fx.deepSpans)), `trace header lacks the span count ${fx.deepSpans}: ${header}`);
  await page.locator(tid("trace-timeline")).waitFor();
  await page.locator(tid("minimap")).waitFor();
  await waitCount(tid("span-row"), (n) => n > 10, "span rows of the deep trace");
  await shot("04-trace-timeline");
});

await step("collapse and expand a span", async () => {
  const before = await count(tid("span-row"));
  // The root's toggle hides every other span.
  await page.locator(`${tid("span-row")} ${tid("span-toggle")}`).first().click();
  await waitCount(tid("span-row"), (n) => n < before, "rows after collapsing the root");
  const collapsed = await count(tid("span-row"));
  check(collapsed === 1, `collapsing the root leaves ${collapsed} rows, want 1`);
  await shot("05-trace-collapsed");
  await page.locator(`${tid("span-row")} ${tid("span-toggle")}`).first().click();
  await waitCount(tid("span-row"), (n) => n === before, "rows after expanding the root again");
});

await step("keyboard navigation on the timeline", async () => {
  const rows = page.locator(tid("span-row"));
  await rows.first().click();
  await page.locator(tid("span-detail")).waitFor();
  const firstID = await rows.first().getAttribute("data-span-id");
  await page.keyboard.press("ArrowDown");
  const active = await page.evaluate(() => {
    const a = document.activeElement?.closest('[data-testid="span-row"]');
    const sel = document.querySelector('[data-testid="span-row"][aria-selected="true"]');
    return (a ?? sel)?.getAttribute("data-span-id") ?? null;
  });
  check(active !== null && active !== firstID, `ArrowDown did not move to the next span (at ${active}, first ${firstID})`);
});

await step("span detail", async () => {
  // A leaf: its attributes, event and IDs.
  const leaf = page.locator(tid("span-row"), { hasText: "SELECT items" }).first();
  await leaf.click();
  const detail = page.locator(tid("span-detail"));
  await detail.waitFor();
  const text = (await detail.textContent()) ?? "";
  for (const want of ["db.system", "postgresql", "rows fetched", "service.version"])
    check(text.includes(want), `span detail lacks "${want}": ${text.slice(0, 400)}`);
  const spanID = await leaf.getAttribute("data-span-id");
  check(spanID && text.includes(spanID), `span detail lacks the span ID ${spanID}`);
  await shot("06-trace-span-detail");
});

await step("critical path", async () => {
  await page.click(tid("critical-path-toggle"));
  await waitCount(`${tid("span-row")}[data-critical="true"]`, (n) => n > 0, "rows on the critical path");
  await shot("07-trace-critical-path");
  await page.click(tid("critical-path-toggle"));
  await waitCount(`${tid("span-row")}[data-critical="true"]`, (n) => n === 0, "critical rows after turning it off");
});

await step("find in trace", async () => {
  // Jaeger's find: a span matches when any word occurs in it. Only the
  // leaves "SELECT items 0001" and "SELECT items 0002" contain these.
  await page.fill(tid("trace-find"), "0001 0002");
  await waitCount(`${tid("span-row")}[data-match="true"]`, (n) => n === 2, "rows matching '0001 0002'");
  const matched = await page.locator(`${tid("span-row")}[data-match="true"]`).allTextContents();
  check(matched.every((t) => /SELECT items 000[12]/.test(t)), `matched rows: ${matched}`);
  await shot("08-trace-find");
  await page.fill(tid("trace-find"), "");
  await waitCount(`${tid("span-row")}[data-match="true"]`, (n) => n === 0, "matching rows after clearing find");
});

await step("alternative views", async () => {
  for (const [view, testid] of [
    ["table", "span-table"],
    ["statistics", "trace-statistics"],
    ["flamegraph", "flame-graph"],
    ["json", "trace-json"],
    ["timeline", "trace-timeline"],
  ]) {
    await page.selectOption(tid("view-select"), view);
    await page.locator(tid(testid)).waitFor();
    check((await page.locator(tid(testid)).textContent())?.length > 0, `the ${view} view is empty`);
    if (view !== "timeline") await shot(`09-trace-${view}`);
  }
  const stats = (await page.locator(tid("trace-statistics")).count()) === 0;
  check(stats, "the statistics view stays after switching back to the timeline");
});

await step("deep link to a trace and the back button", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/trace/${fx.compareA}`);
  await waitRendered(page, "trace");
  check(((await page.locator(tid("trace-header")).textContent()) ?? "").includes("GET /compare"), "deep link opened the wrong trace");
  await page.goBack();
  await page.waitForURL((u) => u.pathname === `/trace/${fx.deepTrace}`);
  await page.locator(tid("trace-timeline")).waitFor();
});

await step("a missing trace is explained", async () => {
  const done = watcher.allow(fx.missingTrace);
  try {
    await page.goto(`${fx.baseURL}/trace/${fx.missingTrace}`);
    const msg = (await page.locator(tid("error-message")).textContent()) ?? "";
    check(/not found|no trace/i.test(msg), `a missing trace says "${msg}"`);
    await shot("10-trace-missing");
  } finally {
    done();
  }
});

// --------------------------------------------------------------- compare

await step("compare two traces from the search", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/search?lookback=1h&tags=${encodeURIComponent("compare=yes")}`);
  await waitRendered(page, "search");
  await waitCount(tid("result-item"), (n) => n === 2, "the two compare=yes traces");
  for (const id of [fx.compareA, fx.compareB]) await page.locator(`${tid("result-item")}[data-trace-id="${id}"] ${tid("result-select")}`).check();
  await unmark();
  await page.click(tid("compare-button"));
  await waitRendered(page, "diff");
  const p = decodeURIComponent(path());
  check(
    p === `/trace/${fx.compareA}...${fx.compareB}` || p === `/trace/${fx.compareB}...${fx.compareA}`,
    `compare URL is ${page.url()}`,
  );
  await page.locator(tid("trace-diff")).waitFor();
  await waitCount(tid("diff-node"), (n) => n >= 4, "diff nodes");
  const changes = await page.locator(tid("diff-node")).evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.textContent?.trim() ?? "", e.getAttribute("data-change")])),
  );
  const find = (name) => Object.entries(changes).find(([k]) => k.includes(name))?.[1];
  const aFirst = p.startsWith(`/trace/${fx.compareA}`);
  check(find("apply coupon") === (aFirst ? "added" : "removed"), `"apply coupon" is ${find("apply coupon")}: ${JSON.stringify(changes)}`);
  check(find("legacy pricing") === (aFirst ? "removed" : "added"), `"legacy pricing" is ${find("legacy pricing")}`);
  check(find("load cart") === "changed", `"load cart" is ${find("load cart")}`);
  await shot("11-compare");
});

await step("compare by Jaeger's trace-diff URL", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/trace-diff?cohort=${fx.compareA}&cohort=${fx.compareB}`);
  await waitRendered(page, "diff");
  await waitCount(`${tid("diff-node")}[data-change="added"]`, (n) => n > 0, "added nodes");
});

// ---------------------------------------------------------- dependencies

await step("dependencies", async () => {
  await unmark();
  await page.click(tid("nav-dependencies"));
  await waitRendered(page, "dependencies");
  check(path() === "/dependencies", `dependencies URL is ${page.url()}`);
  await page.locator(tid("dependency-graph")).waitFor();
  const nodes = await page.locator(tid("dependency-node")).evaluateAll((els) => els.map((e) => e.getAttribute("data-service")).sort());
  check(JSON.stringify(nodes) === JSON.stringify(fx.services), `graph nodes ${nodes}, want ${fx.services}`);
  const edges = await page
    .locator(tid("dependency-edge"))
    .evaluateAll((els) => els.map((e) => ({ parent: e.getAttribute("data-from"), child: e.getAttribute("data-to"), calls: Number(e.getAttribute("data-calls")) })));
  edges.sort((a, b) => (a.parent + "\0" + a.child < b.parent + "\0" + b.child ? -1 : 1));
  check(JSON.stringify(edges) === JSON.stringify(fx.edges), `graph edges ${JSON.stringify(edges)}, want ${JSON.stringify(fx.edges)}`);
  // Each edge shows its count and ends in an arrow.
  const label = await page.locator(`${tid("dependency-edge")}[data-from="checkout"][data-to="payment"] text`).textContent();
  check(label === String(fx.edges.find((e) => e.parent === "checkout" && e.child === "payment").calls), `checkout → payment label "${label}"`);
  // Callers are left of callees.
  const x = async (s) => (await page.locator(`${tid("dependency-node")}[data-service="${s}"]`).boundingBox()).x;
  check((await x("frontend")) < (await x("checkout")) && (await x("checkout")) < (await x("payment")), "the graph is not laid out left to right");
  await shot("12-dependencies");
});

await step("dependencies time range and empty state", async () => {
  await unmark();
  await page.selectOption(tid("dependencies-lookback"), "15m");
  await waitRendered(page, "dependencies");
  check(query().get("lookback") === "15m", `lookback not in the URL ${page.url()}`);
  // A day that ended a week ago has no calls.
  await unmark();
  await page.goto(`${fx.baseURL}/dependencies?lookback=1d&endTs=${Date.now() - 7 * 86400000}`);
  await waitRendered(page, "dependencies");
  await page.locator(tid("empty-state")).waitFor();
  await page.goto(`${fx.baseURL}/dependencies?lookback=soon`);
  const msg = (await page.locator(tid("error-message")).textContent()) ?? "";
  check(msg.includes('"soon"'), `a bad lookback says "${msg}"`);
});

await step("a service in the graph opens its search", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/dependencies`);
  await waitRendered(page, "dependencies");
  await unmark();
  await page.locator(`${tid("dependency-node")}[data-service="checkout"]`).click();
  await page.waitForURL((u) => u.pathname === "/search" && u.searchParams.get("service") === "checkout");
  await waitRendered(page, "search");
  await page.goBack();
  await page.waitForURL((u) => u.pathname === "/dependencies");
  await page.locator(tid("dependency-graph")).waitFor();
});

// --------------------------------------------------------------- monitor

await step("monitor", async () => {
  await unmark();
  await page.click(tid("nav-monitor"));
  await page.waitForURL((u) => u.pathname === "/monitor");
  await page.locator(`${tid("monitor-service")} option[value="frontend"]`).waitFor({ state: "attached" });
  await unmark();
  await page.selectOption(tid("monitor-service"), "frontend");
  await waitRendered(page, "monitor");
  check(query().get("service") === "frontend", `monitor URL is ${page.url()}`);
  const metrics = await page.locator(tid("monitor-chart")).evaluateAll((els) => els.map((e) => e.getAttribute("data-metric")).sort());
  check(JSON.stringify(metrics) === JSON.stringify(["errors", "latency", "rate"]), `charts ${metrics}`);
  for (const m of ["rate", "latency"]) {
    const drawn = await count(`${tid("monitor-chart")}[data-metric="${m}"] svg :is(polyline, circle)`);
    check(drawn > 0, `the ${m} chart draws nothing`);
  }
  const table = page.locator(tid("monitor-operations"));
  const rows = await table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-operation")));
  for (const op of ["GET /checkout", "GET /", "GET /deep", "GET /compare"]) check(rows.includes(op), `operations table lacks ${op}: ${rows}`);
  const checkoutRow = (await table.locator('tbody tr[data-operation="GET /checkout"]').textContent()) ?? "";
  check(/0%/.test(checkoutRow), `GET /checkout should have no errors: ${checkoutRow}`);
  await shot("13-monitor");
});

await step("monitor errors, sorting and span kinds", async () => {
  await unmark();
  await page.selectOption(tid("monitor-service"), "payment");
  await waitRendered(page, "monitor");
  const row = (await page.locator(`${tid("monitor-operations")} tbody tr[data-operation="POST /charge"]`).textContent()) ?? "";
  // Five of the twenty charges were declined.
  check(row.includes("25%"), `POST /charge should show a 25% error rate: ${row}`);
  const errDrawn = await count(`${tid("monitor-chart")}[data-metric="errors"] svg :is(polyline, circle)`);
  check(errDrawn > 0, "the error chart draws nothing");
  await shot("14-monitor-errors");
  // Sorting by name, both ways.
  await page.selectOption(tid("monitor-service"), "frontend");
  await waitRendered(page, "monitor");
  const names = () => page.locator(`${tid("monitor-operations")} tbody tr`).evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-operation")));
  await page.click(`${tid("monitor-operations")} button[data-sort="operation"]`);
  const asc = await names();
  check(JSON.stringify(asc) === JSON.stringify([...asc].sort((a, b) => a.localeCompare(b))), `sorted by name: ${asc}`);
  await page.click(`${tid("monitor-operations")} button[data-sort="operation"]`);
  const desc = await names();
  check(JSON.stringify(desc) === JSON.stringify([...asc].reverse()), `sorted by name, descending: ${desc}`);
  // Client spans of frontend: its calls to checkout and catalog.
  await unmark();
  await page.selectOption(tid("monitor-span-kind"), "client");
  await waitRendered(page, "monitor");
  const clientOps = await names();
  check(clientOps.includes("POST /orders") && clientOps.includes("GET /products"), `frontend's client operations: ${clientOps}`);
  await unmark();
  await page.selectOption(tid("monitor-lookback"), "2h");
  await waitRendered(page, "monitor");
  check(query().get("lookback") === "2h" && query().get("spanKind") === "client", `monitor URL is ${page.url()}`);
});

await step("monitor without calls of a kind says so", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/monitor?service=payment&spanKind=producer&lookback=1h`);
  await waitRendered(page, "monitor");
  const empty = (await page.locator(`${tid("monitor-operations")} ${tid("empty-state")}`).textContent()) ?? "";
  check(/no calls/i.test(empty), `the operations table says "${empty}"`);
  check((await count(`${tid("monitor-chart")} svg :is(polyline, circle)`)) === 0, "charts draw data for a kind without calls");
  check((await count(`${tid("monitor-chart")} .chart-nodata`)) === 3, "the charts do not say they have no data");
  await page.goto(`${fx.baseURL}/monitor?service=payment&lookback=yesterday`);
  const msg = (await page.locator(tid("error-message")).textContent()) ?? "";
  check(msg.includes('"yesterday"'), `a bad lookback says "${msg}"`);
});

await step("an operation opens its search", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/monitor?service=frontend&lookback=1h`);
  await waitRendered(page, "monitor");
  await unmark();
  await page.locator(`${tid("monitor-operations")} tbody tr[data-operation="GET /checkout"] a`).click();
  await page.waitForURL((u) => u.pathname === "/search" && u.searchParams.get("operation") === "GET /checkout");
  await waitRendered(page, "search");
  await waitCount(tid("result-item"), (n) => n > 0, "results of GET /checkout");
});

// ---------------------------------------------------------------- upload

await step("upload a Jaeger JSON file", async () => {
  await page.click(tid("nav-upload"));
  await page.waitForURL((u) => u.pathname === "/upload");
  await page.locator(tid("upload-drop")).waitFor();
  await shot("15-upload");
  await page.setInputFiles(tid("upload-input"), fx.jaegerFile);
  await page.locator(tid("trace-header")).waitFor();
  await waitCount(tid("span-row"), (n) => n === fx.jaegerSpans, `span rows of the uploaded Jaeger trace`);
  const ids = await page.locator(tid("span-row")).evaluateAll((els) => els.map((e) => e.getAttribute("data-span-id")));
  check(ids.every((id) => /^[0-9a-f]{16}$/.test(id ?? "")), `span IDs ${ids}`);
  const header = (await page.locator(tid("trace-header")).textContent()) ?? "";
  check(header.includes("GET /checkout"), `uploaded trace header: ${header}`);
  await shot("16-upload-jaeger");
});

await step("drop an OTLP JSON file", async () => {
  await page.goto(`${fx.baseURL}/upload`);
  await page.locator(tid("upload-drop")).waitFor();
  const { readFile } = await import("node:fs/promises");
  const text = await readFile(fx.otlpFile, "utf8");
  const dt = await page.evaluateHandle((t) => {
    const d = new DataTransfer();
    d.items.add(new File([t], "otlp-trace.json", { type: "application/json" }));
    return d;
  }, text);
  await page.dispatchEvent(tid("upload-drop"), "dragenter", { dataTransfer: dt });
  await page.dispatchEvent(tid("upload-drop"), "dragover", { dataTransfer: dt });
  await page.dispatchEvent(tid("upload-drop"), "drop", { dataTransfer: dt });
  await page.locator(tid("trace-header")).waitFor();
  await waitCount(tid("span-row"), (n) => n === fx.otlpSpans, "span rows of the dropped OTLP trace");
  check(((await page.locator(tid("trace-header")).textContent()) ?? "").includes("GET /compare"), "the dropped trace is not GET /compare");
  await shot("17-upload-otlp");
});

await step("a file that is not a trace is explained", async () => {
  await page.goto(`${fx.baseURL}/upload`);
  await page.setInputFiles(tid("upload-input"), fx.badFile);
  const msg = (await page.locator(tid("error-message")).textContent()) ?? "";
  check(msg.includes("not-a-trace.json"), `a bad file says "${msg}"`);
  await shot("18-upload-bad-file");
});

// ----------------------------------------------------------------- theme

await step("dark theme", async () => {
  await unmark();
  await page.goto(`${fx.baseURL}/dependencies`);
  await waitRendered(page, "dependencies");
  const before = await page.evaluate(() => document.documentElement.dataset.theme ?? "light");
  await page.click(tid("theme-toggle"));
  const after = await page.evaluate(() => document.documentElement.dataset.theme);
  check(after !== before, `the theme toggle left the theme at ${after}`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await shot("19-dependencies-dark");
  await unmark();
  await page.goto(`${fx.baseURL}/monitor?service=frontend`);
  await waitRendered(page, "monitor");
  check((await page.evaluate(() => document.documentElement.dataset.theme)) === after, "the theme did not survive a reload");
  await shot("20-monitor-dark");
  await unmark();
  await page.goto(`${fx.baseURL}/trace/${fx.deepTrace}`);
  await waitRendered(page, "trace");
  await shot("21-trace-dark");
  check(bg !== "rgb(255, 255, 255)", `dark theme body background is ${bg}`);
});

await browser.close();
const problems = watcher.problems;
if (problems.length > 0) {
  console.log(`the pages reported ${problems.length} problems:\n  ${problems.join("\n  ")}`);
  failed = true;
}
console.log(`${failed ? "FAILED" : "passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${fx.outDir}`);
process.exit(failed ? 1 : 0);
