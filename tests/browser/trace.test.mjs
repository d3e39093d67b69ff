// The item summaries and the trace timeline in Debian's headless Chromium: on a cluster
// page an item expands to its summary (title, bullets, flow, notes) and its "Timeline"
// button draws the trace's timeline in the page; a step opens its input and output. The
// trace_html page of a trace whose every text is hostile runs nothing and shows the text;
// the page of a 1,000-step trace draws every step (first paint printed). Screenshots.
// Also a 10 MB output (folded, its full length said) and a parent cycle with privacy-mode
// nulls (every step drawn once).
// Usage: node trace.test.mjs CLUSTER.html HOSTILE.html LONG.html HUGE.html TANGLED.html SCREENSHOT_DIR
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const [clusterPage, hostilePage, longPage, hugePage, tangledPage, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
const ok = (what) => console.log(`ok: ${what}`);
async function open(file) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const state = { dialogs: [], requests: [] };
  page.on("dialog", async (d) => { state.dialogs.push(d.message()); await d.dismiss(); });
  page.on("request", (r) => { if (!r.url().startsWith("file:")) state.requests.push(r.url()); });
  await page.goto(pathToFileURL(file).href);
  return [page, state];
}
async function clean(page, state, what) {
  assert.deepEqual(state.dialogs, [], `${what}: a dialog opened`);
  assert.equal(await page.evaluate(() => window.__xss), undefined, `${what}: an injected handler ran`);
  for (const tag of ["img", "iframe", "svg:not(#map)", "[onmouseover]", "[onload]", "[onerror]"]) {
    assert.equal(await page.locator(tag).count(), 0, `${what}: injected ${tag}`);
  }
  assert.equal(await page.locator("script").count(), 2, `${what}: only the page's own scripts`);
  assert.deepEqual(state.requests, [], `${what}: the page fetched something`);
}
try {
  // The cluster page: the first item's summary, then its timeline, then a step's texts.
  const [page, state] = await open(clusterPage);
  await page.waitForSelector("#items li");
  const data = await page.evaluate(() => JSON.parse(document.getElementById("data").textContent));
  assert.ok(data.items.every((i) => i.summary), "every listed item has its summary");
  const first = page.locator("#items li").first();
  await first.locator("summary").click();
  const item = data.items[0];
  assert.equal(await first.locator(".sum-title").textContent(), item.summary.title);
  assert.equal(await first.locator(".sum-flow").textContent(), item.summary.flow);
  assert.equal(await first.locator(".sum-bullets li").count(), item.summary.bullets.length);
  ok(`an item expands to its summary: "${item.summary.title}", ${item.summary.bullets.length} bullets, a ${item.summary.flow.split("\n").length}-line flow`);
  await first.locator("button.open-timeline").click();
  const steps = data.timelines[item.trace].steps.length;
  assert.equal(await first.locator(".tl-row").count(), steps);
  const withOutput = data.timelines[item.trace].steps.findIndex((s) => s.output);
  await first.locator(".tl-row").nth(withOutput).click();
  const shown = await first.locator(".tl-detail pre").last().textContent();
  assert.equal(shown, data.timelines[item.trace].steps[withOutput].output.text);
  ok(`its timeline opens in the page: ${steps} steps; a click shows a step's output`);
  await clean(page, state, "cluster page");
  ok("the cluster page is self-contained and runs no item text");
  await page.screenshot({ path: `${shots}/cluster.png`, fullPage: false, clip: { x: 0, y: 0, width: 1280, height: 1400 } }).catch(async () => {
    await page.screenshot({ path: `${shots}/cluster.png` });
  });

  // A trace whose every text is hostile.
  const [hostile, hstate] = await open(hostilePage);
  await hostile.waitForSelector(".tl-row");
  const hdata = await hostile.evaluate(() => JSON.parse(document.getElementById("data").textContent));
  const bad = hdata.timeline.steps.findIndex((s) => s.error);
  assert.ok(bad >= 0, "the failed step is in the timeline");
  assert.ok(await hostile.locator(".tl-row").nth(bad).evaluate((e) => e.classList.contains("error")), "errors are highlighted");
  await hostile.locator(".tl-row").nth(bad).click();
  const text = await hostile.evaluate(() => document.body.textContent);
  for (const t of ["<iframe src=\"javascript:alert(2)\"></iframe>", "<script>alert(4)</script>", "</script><img src=x onerror=\"window.__xss=1\">"]) {
    assert.ok(text.includes(t), `shown as text: ${t}`);
  }
  await clean(hostile, hstate, "hostile trace");
  assert.ok((await hostile.locator("#cluster-list li").count()) >= 1, "the trace's clusters are listed");
  ok("hostile trace: every text shown as text, errors highlighted, nothing runs, its clusters listed");

  // 1,000 steps: every one drawn; how long the first paint took.
  const [long, lstate] = await open(longPage);
  await long.waitForSelector(".tl-row");
  assert.equal(await long.locator(".tl-row").count(), 1000);
  const paint = await long.evaluate(() => performance.getEntriesByType("paint").map((p) => `${p.name} ${p.startTime.toFixed(0)} ms`));
  console.log(`1,000-step timeline: ${paint.join(", ")}`);
  await clean(long, lstate, "long trace");
  ok("a 1,000-step trace draws every step");
  const [huge, ustate] = await open(hugePage);
  await huge.waitForSelector(".tl-row");
  await huge.locator(".tl-row").first().click();
  const label = await huge.locator(".tl-detail div").filter({ hasText: "Output" }).textContent();
  assert.ok(label.includes("of 10200000 characters"), `the folded output says its length: ${label}`);
  await clean(huge, ustate, "10 MB output");
  ok(`a 10 MB output is folded: ${label}`);
  const [tangled, tstate] = await open(tangledPage);
  await tangled.waitForSelector(".tl-row");
  assert.equal(await tangled.locator(".tl-row").count(), 3, "each step of the cycle drawn once");
  assert.ok((await tangled.locator(".sum-notes").textContent()).includes("parent cycle"), "the cycle is noted");
  await tangled.locator(".tl-row").nth(2).click();
  await clean(tangled, tstate, "tangled trace");
  ok("a parent cycle with a missing parent and privacy-mode nulls: 3 steps, noted");
  await hostile.screenshot({ path: `${shots}/timeline.png`, fullPage: true });
  ok(`screenshots in ${shots}`);
} finally {
  await browser.close();
}
