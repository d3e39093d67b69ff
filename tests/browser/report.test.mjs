// Loads report_html() pages in Debian's headless Chromium and checks them through the
// page's own events: the DOM (segments, dots, cards, the dashed Outliers card), hover
// tooltips, click-to-jump, drag-to-zoom and reset, a dot's link, the cluster page's
// pager, that hostile item text never runs, and the marks of the clusters steered by hand.
// Saves a screenshot.
// With EVALUATION.html, an evaluation run's report: its lens, and on every card the pass
// rate, N/A rate and main evaluator its data says.
// Usage: node report.test.mjs RUN.html CLUSTER.html SCREENSHOT.png STEERED [EVALUATION.html]
// (STEERED: {"merged": id, "parts": [ids]}, the run's merged cluster and a split's parts)
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";

const [runPage, clusterPage, screenshot, steeredArg, evaluationPage] = process.argv.slice(2);
const steered = JSON.parse(steeredArg);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const ok = (what) => console.log(`ok: ${what}`);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs = [];
  page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const requests = [];
  page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
  await page.goto(pathToFileURL(runPage).href);
  await page.waitForSelector("#cards .card");

  const paint = await page.evaluate(() => performance.getEntriesByType("paint").map((p) => `${p.name} ${p.startTime.toFixed(0)} ms`));
  console.log(`report: ${paint.join(", ")}`);

  // XSS: the hostile items' text is on the page as text, and nothing ran.
  const hostile = await page.evaluate(() => document.body.textContent.includes("<script>alert(1)</script>"));
  assert.equal(dialogs.length, 0, `a dialog opened: ${dialogs}`);
  assert.equal(await page.evaluate(() => window.__xss), undefined, "an injected handler ran");
  assert.equal(await page.locator("img").count(), 0, "an injected <img> exists");
  assert.equal(await page.locator("script").count(), 2, "only the page's own scripts");
  assert.ok(hostile, "the hostile text is shown as text");
  ok("hostile item text is shown as text and runs nothing");
  assert.deepEqual(requests, [], "the page fetched something");
  ok("the page is self-contained (no requests)");

  // DOM: a segment and a card per cluster, a dot per item, a centroid per cluster.
  const data = await page.evaluate(() => JSON.parse(document.getElementById("data").textContent));
  const nClusters = data.clusters.length;
  assert.equal(await page.locator("#bar .segment").count(), nClusters);
  assert.equal(await page.locator("#cards .card").count(), nClusters);
  assert.equal(await page.locator("#map circle.dot:not(.centroid)").count(), data.points.length);
  assert.equal(await page.locator("#map circle.centroid").count(), data.clusters.filter((c) => c.id >= 0).length);
  ok(`${nClusters} segments and cards, ${data.points.length} dots, centroids`);
  const outliers = page.locator("#cards .card.outliers");
  assert.equal(await outliers.count(), 1, "one Outliers card");
  assert.equal(await outliers.evaluate((e) => getComputedStyle(e).borderTopStyle), "dashed");
  assert.equal(await page.locator("#cards .card").last().getAttribute("id"), "cluster--1", "Outliers last");
  const outlierDots = data.points.filter((p) => p.c < 0).length;
  assert.equal(await page.locator("#map circle.outlier").count(), outlierDots, "outlier dots are drawn apart");
  if (data.pointsOf === data.points.length) assert.ok(outlierDots > 0, "the run's outliers are on the map");
  ok("the Outliers card is last and dashed; outlier dots have their own style");

  // Themes: a bar segment and a section per theme; every card sits under its theme's heading.
  assert.ok(data.themes.length >= 1, "the run has themes");
  assert.equal(await page.locator("#theme-bar .segment").count(), data.themes.length);
  for (const t of data.themes) {
    const section = page.locator(`#theme-${t.id}`);
    assert.ok((await section.locator("h2").textContent()).startsWith(t.title), "a heading per theme");
    const ids = await section.locator(".card").evaluateAll((cards) => cards.map((c) => c.id));
    const expected = data.clusters.filter((c) => c.theme === t.id).map((c) => `cluster-${c.id}`);
    assert.deepEqual(ids.sort(), expected.sort(), `theme ${t.id} holds its clusters' cards`);
  }
  assert.ok(data.clusters.every((c) => (c.theme == null) === (c.id < 0)), "every cluster but Outliers has a theme");
  await page.locator("#theme-bar .segment").first().click();
  assert.equal(await page.evaluate(() => location.hash), `#theme-${data.themes[0].id}`);
  ok(`${data.themes.length} themes: a bar segment, a heading and their clusters' cards each; the bar jumps to them`);

  // Steering: the merged cluster's card and each part's say what a person did, no other does.
  const marks = await page.locator("#cards .card h3 .steered").evaluateAll((spans) =>
    spans.map((s) => [s.closest(".card").id, s.textContent]));
  const expectedMarks = [[`cluster-${steered.merged}`, "merged by hand"],
                         ...steered.parts.map((id) => [`cluster-${id}`, "split by hand"])];
  assert.deepEqual(marks.sort(), expectedMarks.sort(), "the steered clusters' cards are marked");
  assert.equal(await page.locator(`#cluster-${steered.merged} .steered`).isVisible(), true);
  ok(`steered by hand: cluster ${steered.merged} merged, ${steered.parts.length} parts split, each card marked`);

  // Hover a segment: its title and size.
  const firstId = Number(await page.locator("#bar .segment").first().getAttribute("data-cluster"));
  const first = data.clusters.find((c) => c.id === firstId);
  await page.locator("#bar .segment").first().hover();
  assert.equal(await page.locator("#tip").textContent(), `${first.title} — ${first.size} items`);
  assert.ok(await page.locator("#tip").isVisible());
  ok("hovering a segment shows its title and item count");

  // Hover a dot: the item's preview. Dots overlap: the one on top at that point counts.
  const dotBox = await page.locator("#map circle.dot:not(.centroid):not(.outlier)").first().boundingBox();
  const at = [dotBox.x + dotBox.width / 2, dotBox.y + dotBox.height / 2];
  await page.mouse.move(at[0], at[1]);
  const itemId = await page.evaluate(([x, y]) => document.elementFromPoint(x, y).dataset.item, at);
  assert.ok(itemId, "a dot is under the mouse");
  const preview = data.points.find((p) => p.id === itemId).text;
  assert.equal(await page.locator("#tip").textContent(), preview || itemId);
  ok("hovering a dot shows its preview");

  // Click a segment: jump to the card.
  const last = data.clusters[nClusters - 2];
  await page.locator(`#bar .segment[data-cluster="${last.id}"]`).click();
  assert.equal(await page.evaluate(() => location.hash), `#cluster-${last.id}`);
  assert.ok(await page.locator(`#cluster-${last.id}`).isVisible());
  ok("clicking a segment jumps to its card");

  // Click a centroid: its card.
  await page.evaluate(() => window.scrollTo(0, 0));
  const centroid = page.locator("#map circle.centroid").first();
  const centroidCluster = await centroid.getAttribute("data-cluster");
  await centroid.click({ force: true });
  assert.equal(await page.evaluate(() => location.hash), `#cluster-${centroidCluster}`);
  ok("clicking a centroid opens its cluster's card");

  // Drag to zoom, double-click to reset.
  await page.evaluate(() => window.scrollTo(0, 0));
  const map = page.locator("#map");
  await map.scrollIntoViewIfNeeded();
  const home = await map.getAttribute("viewBox");
  const box = await map.boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.up();
  const zoomed = await map.getAttribute("viewBox");
  assert.notEqual(zoomed, home, "the drag zoomed in");
  assert.ok(Number(zoomed.split(" ")[2]) < Number(home.split(" ")[2]) / 2, "the view is narrower");
  await map.dblclick({ position: { x: 5, y: 5 } });
  assert.equal(await map.getAttribute("viewBox"), home);
  ok("dragging zooms into the region; double-click resets");

  // The home view fits the bulk of the dots; "Show all" fits every one.
  const [hx, hy, hw, hh] = home.split(" ").map(Number);
  const inside = data.points.filter((p) => p.x >= hx && p.x <= hx + hw && p.y >= hy && p.y <= hy + hh).length;
  assert.ok(inside >= 0.97 * data.points.length, `${inside} of ${data.points.length} dots in the home view`);
  const showAll = page.locator("#show-all");
  if (inside < data.points.length) {
    assert.ok(await showAll.isVisible(), "Show all is offered when dots are outside the view");
    await showAll.click();
    const [, , aw, ah] = (await map.getAttribute("viewBox")).split(" ").map(Number);
    assert.ok(aw >= hw && ah >= hh, "Show all widens the view");
    await map.dblclick({ position: { x: 5, y: 5 } });
  } else {
    assert.ok(!(await showAll.isVisible()), "no Show all when every dot is in view");
  }
  ok(`the home view holds ${inside} of ${data.points.length} dots; far ones are one click away`);

  // A dot's link, from the URL template.
  assert.ok(data.itemUrl.includes("{trace_id}"), "the test sets a URL template");
  await page.evaluate(() => window.scrollTo(0, 0));
  await map.scrollIntoViewIfNeeded();
  const dotBox2 = await page.locator(`#map circle[data-item="${itemId}"]`).boundingBox();
  const at2 = [dotBox2.x + dotBox2.width / 2, dotBox2.y + dotBox2.height / 2];
  const clicked = await page.evaluate(([x, y]) => document.elementFromPoint(x, y).dataset.item, at2);
  // The link opens in a new tab; its request is what shows where it went (nothing listens there).
  const [request] = await Promise.all([
    page.context().waitForEvent("request", (r) => r.url().startsWith("http://127.0.0.1:9/")),
    page.mouse.click(at2[0], at2[1]),
  ]);
  const trace = data.points.find((p) => p.id === clicked).trace;
  assert.equal(request.url(), `http://127.0.0.1:9/trace/${encodeURIComponent(trace)}?item=${encodeURIComponent(clicked)}`);
  ok("clicking a dot follows the configured link");

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.mouse.move(0, 0);
  await page.screenshot({ path: screenshot, fullPage: true });
  ok(`screenshot: ${screenshot}`);

  // The cluster page: its items only, in rank order, a page at a time.
  const detail = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  detail.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await detail.goto(pathToFileURL(clusterPage).href);
  await detail.waitForSelector("#items li");
  const cdata = await detail.evaluate(() => JSON.parse(document.getElementById("data").textContent));
  assert.ok(cdata.points.every((p) => p.c === cdata.focus), "only the cluster's dots");
  assert.equal(await detail.locator("#map circle.dot").count(), cdata.points.length);
  assert.equal(await detail.locator("#items li").count(), Math.min(25, cdata.items.length));
  assert.equal(await detail.locator("#items li").first().textContent(), cdata.items[0].text || cdata.items[0].id);
  const pages = Math.ceil(cdata.items.length / 25);
  assert.equal(await detail.locator("#page").textContent(), `page 1 of ${pages}`);
  if (pages > 1) {
    await detail.locator("#next").click();
    assert.equal(await detail.locator("#page").textContent(), `page 2 of ${pages}`);
    assert.equal(await detail.locator("#items li").first().textContent(), cdata.items[25].text || cdata.items[25].id);
  }
  assert.ok((await detail.locator("header").textContent()).includes("first"), "the date range is shown");
  assert.equal(dialogs.length, 0);
  ok(`the cluster page lists its ${cdata.items.length} items in ${pages} pages`);

  // The plain run's cards have no pass rate; its header says its lens.
  assert.equal(await page.locator("#cards .card", { hasText: "pass rate" }).count(), 0, "no pass rate on a generation run");
  assert.equal(await page.locator("#lens").textContent(), "request");
  if (evaluationPage) {
    const judged = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    judged.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
    await judged.goto(pathToFileURL(evaluationPage).href);
    await judged.waitForSelector("#cards .card");
    const edata = await judged.evaluate(() => JSON.parse(document.getElementById("data").textContent));
    const pct = (x) => (x == null ? "–" : (100 * x).toFixed(1) + "%");
    assert.ok(edata.clusters.some((c) => c.passRate != null), "the run has pass rates");
    for (const c of edata.clusters) {
      // Each stat is a label span followed by its value.
      const stats = await judged.locator(`#cluster-${c.id} .stats`).evaluate((box) => {
        const out = {};
        for (const label of box.querySelectorAll("span")) out[label.textContent] = label.nextElementSibling.textContent;
        return out;
      });
      assert.equal(stats["pass rate"], pct(c.passRate), `cluster ${c.id}'s pass rate`);
      assert.equal(stats["N/A rate"], pct(c.naRate), `cluster ${c.id}'s N/A rate`);
      if (c.mainEvaluator) assert.equal(stats["evaluator"], c.mainEvaluator, `cluster ${c.id}'s evaluator`);
    }
    assert.equal(await judged.locator("#lens").textContent(), "request");
    assert.ok((await judged.locator("header").textContent()).includes("level evaluation"), "the header says the level");
    assert.equal(dialogs.length, 0);
    ok(`the evaluation run's ${edata.clusters.length} cards show their pass rate, N/A rate and evaluator`);
    await judged.screenshot({ path: screenshot.replace(/\.png$/, "") + "-evaluation.png", fullPage: true });
  }
} finally {
  await browser.close();
}
