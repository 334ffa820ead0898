// make bench-ui: the time from navigation start until a view has rendered
// with data (document.documentElement.dataset.rendered is set), in headless
// Chromium, for a 10,000-span trace and a search answering 1,500 traces.
// Run by TestWebUIBenchmark (cmd/tracelake/e2e_ui_bench_test.go), which
// starts and seeds the all-in-one. Each run uses a fresh browser context
// (empty cache), after one warm-up run of each page that is not counted.
import { launch, readFixture, watch } from "./browser.mjs";

const fx = await readFixture();
const aim = 1000;
const browser = await launch(fx);

/** Records when data-rendered is first set, in ms since navigation start. */
function recordRendered() {
  // The script runs before <html> exists: watch the whole document.
  new MutationObserver(() => {
    const r = document.documentElement?.dataset.rendered;
    if (r && !window.__rendered) window.__rendered = { name: r, at: performance.now() };
  }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-rendered"] });
}

async function measure(name, url, view, verify) {
  const runs = [];
  const problems = [];
  for (let i = 0; i <= fx.runs; i++) {
    const wall = Date.now();
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.addInitScript(recordRendered);
    const page = await context.newPage();
    const w = watch(page, name);
    await page.goto(fx.baseURL + url, { waitUntil: "commit" });
    try {
      await page.waitForFunction(() => window.__rendered || document.querySelector('[data-testid="error-message"]'), null, { timeout: 60_000, polling: 10 });
    } catch (e) {
      throw new Error(`${url} did not render within 60 s; the page shows: ${((await page.locator("body").textContent()) ?? "").slice(0, 500)}`);
    }
    if (!(await page.evaluate(() => window.__rendered)))
      throw new Error(`${url} shows an error: ${await page.locator('[data-testid="error-message"]').first().textContent()}`);
    const r = await page.evaluate(() => {
      const api = performance.getEntriesByType("resource").filter((e) => /\/api\//.test(e.name));
      const nav = performance.getEntriesByType("navigation")[0];
      const slowest = api.reduce((a, e) => (!a || e.responseEnd - e.startTime > a.responseEnd - a.startTime ? e : a), null);
      return {
        ...window.__rendered,
        apiURL: slowest?.name,
        api: api.reduce((m, e) => Math.max(m, e.responseEnd - e.startTime), 0),
        apiBytes: api.reduce((s, e) => s + (e.encodedBodySize || 0), 0),
        appLoaded: nav ? nav.domContentLoadedEventEnd : NaN,
      };
    });
    if (r.name !== view) throw new Error(`${url} rendered "${r.name}", want "${view}"`);
    await verify(page);
    // The first frame after the render, for the record.
    r.painted = await page.evaluate(() => new Promise((res) => requestAnimationFrame(() => res(performance.now()))));
    problems.push(...w.problems);
    if (i > 0) runs.push(r); // run 0 warms the server's caches
    await context.close();
    console.log(`${name}: ${i === 0 ? "warm-up" : `run ${i}`}: rendered after ${Math.round(r.at)} ms (API ${Math.round(r.api)} ms); ${Date.now() - wall} ms in all`);
  }
  // The slowest API request again, from Node: the server's share alone.
  const direct = [];
  for (let i = 0; i < fx.runs; i++) {
    const t0 = performance.now();
    const res = await fetch(runs[0].apiURL);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${runs[0].apiURL}: ${res.status}`);
    direct.push(performance.now() - t0);
  }
  direct.sort((a, b) => a - b);
  const med = (k) => {
    const v = runs.map((r) => r[k]).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  return { name, runs, median: med("at"), min: Math.min(...runs.map((r) => r.at)), max: Math.max(...runs.map((r) => r.at)), api: med("api"), app: med("appLoaded"), painted: med("painted"), apiBytes: med("apiBytes"), apiURL: runs[0].apiURL, direct: direct[Math.floor(direct.length / 2)], problems };
}

const results = [];
results.push(
  await measure(`trace, ${fx.bigSpans.toLocaleString("en-US")} spans`, `/trace/${fx.bigTrace}`, "trace", async (page) => {
    const header = (await page.locator('[data-testid="trace-header"]').textContent()) ?? "";
    const n = fx.bigSpans;
    if (!header.includes(n.toLocaleString("en-US")) && !header.includes(String(n))) throw new Error(`the trace header does not show ${n} spans: ${header}`);
    const rows = await page.locator('[data-testid="span-row"]').count();
    if (rows === 0 || rows > 500) throw new Error(`${rows} span rows in the DOM: the timeline must render (only) the visible rows`);
  }),
);
results.push(
  await measure(`search, ${fx.traces.toLocaleString("en-US")} results`, fx.searchURL, "search", async (page) => {
    const text = (await page.locator(".results-count").textContent()) ?? "";
    if (!new RegExp(`\\b(${fx.traces}|${fx.traces.toLocaleString("en-US")}) traces\\b`).test(text)) throw new Error(`the search shows "${text}", want ${fx.traces} traces`);
    const items = await page.locator('[data-testid="result-item"]').count();
    if (items === 0 || items > 300) throw new Error(`${items} result items in the DOM: the list must render (only) the visible results`);
  }),
);
await browser.close();

const pad = (s, n) => String(s).padEnd(n);
const ms = (v) => `${Math.round(v)} ms`;
console.log(`\nTime from navigation start to the view rendered with data (median of ${fx.runs} runs, cold browser cache)\n`);
console.log(`${pad("view", 24)}${pad("median", 9)}${pad("min", 9)}${pad("max", 9)}${pad("app loaded", 12)}${pad("API answer", 12)}${pad("API alone", 11)}${pad("API bytes", 11)}aim < 1 s`);
for (const r of results) {
  console.log(
    `${pad(r.name, 24)}${pad(ms(r.median), 9)}${pad(ms(r.min), 9)}${pad(ms(r.max), 9)}${pad(ms(r.app), 12)}${pad(ms(r.api), 12)}${pad(ms(r.direct), 11)}${pad(`${(r.apiBytes / 1024).toFixed(0)} KiB`, 11)}${r.median < aim ? "yes" : "NO"}`,
  );
}
console.log(`
app loaded: DOMContentLoaded. API answer: the slowest /api/ request of the page, from its
start to its last byte. API alone: that request again from Node, without the browser:
${results.map((r) => `  ${r.name}: ${r.apiURL}`).join("\n")}`);
const problems = results.flatMap((r) => r.problems);
if (problems.length) {
  console.log(`the pages reported problems:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
