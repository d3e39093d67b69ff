// The README's pictures of the demo, taken in Debian's headless Chromium: the top of the
// run's report (header, theme bar, map), the biggest cluster's page with its first item
// expanded to its summary and timeline, and one trace's timeline page.
// Usage: node docs_screenshots.mjs REPORT.html CLUSTER.html TRACE.html OUT_DIR
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [reportPage, clusterPage, tracePage, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
async function open(file) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(pathToFileURL(file).href);
  return page;
}
try {
  const report = await open(reportPage);
  await report.waitForSelector("#cards .card");
  await report.screenshot({ path: `${out}/report.png` });

  const cluster = await open(clusterPage);
  await cluster.waitForSelector("#items li");
  const first = cluster.locator("#items li").first();
  await first.locator("summary").click();
  await first.locator("button.open-timeline").click();
  await first.locator(".tl-row").first().waitFor();
  await cluster.evaluate(() => window.scrollTo(0, 0));
  await cluster.screenshot({ path: `${out}/cluster.png`, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1500 } });

  const trace = await open(tracePage);
  await trace.screenshot({ path: `${out}/timeline.png`, fullPage: true });
  console.log(`screenshots: ${out}/report.png, ${out}/cluster.png, ${out}/timeline.png`);
} finally {
  await browser.close();
}
