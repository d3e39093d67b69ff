// PostHog's browser SDK, unchanged, in Debian's headless Chromium, pointed at
// llm-clusters-server: a page of another origin imports posthog-js, initialises it with
// the server as api_host and a team's key, and captures a trace, a generation and a span
// the way an app does (posthog.capture), plus a click the server ignores. Waits until the
// SDK's requests to the server are answered, then writes the uuid and trace of every
// $ai_* event the SDK sent (its before_send hook), one JSON object per line, and the
// requests (path, compression, status) to the console.
//
// Usage: node posthog_js.test.mjs SERVER_URL API_KEY POSTHOG_JS_MODULE SENT_FILE PREFIX
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import assert from "node:assert/strict";

const [server, key, moduleFile, sentFile, prefix] = process.argv.slice(2);
// The app: a page and the SDK's module served from another origin on the loopback (as the
// server is, so Chromium's local-network rules allow the requests): CORS is exercised.
const appServer = createServer((request, response) => {
  const js = request.url === "/posthog.js";
  response.writeHead(200, { "Content-Type": js ? "text/javascript" : "text/html" });
  response.end(js ? readFileSync(moduleFile) : pageHtml);
});
await new Promise((resolve) => appServer.listen(0, "127.0.0.1", resolve));
const app = `http://127.0.0.1:${appServer.address().port}`;
const pageHtml = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>app</title></head><body>
<script type="module">
import posthog from "${app}/posthog.js";
const sent = [];
window.__sent = sent;
posthog.init(${JSON.stringify(key)}, {
  api_host: ${JSON.stringify(server)},
  autocapture: false, capture_pageview: false, capture_pageleave: false, disable_session_recording: true,
  advanced_disable_flags: true, advanced_disable_decide: true, disable_surveys: true, persistence: "memory",
  request_batching: false,
  // posthog-js drops the events of a browser that looks automated (headless Chromium is);
  // its own advice for end-to-end tests is this option.
  opt_out_useragent_filter: true,
  before_send: (event) => { sent.push({ uuid: event.uuid, event: event.event, trace: event.properties.$ai_trace_id }); return event; },
});
const trace = ${JSON.stringify(prefix)} + "-chat";
posthog.capture("$ai_trace", { $ai_trace_id: trace, $ai_span_name: "support chat", $ai_latency: 1.4 });
posthog.capture("$ai_generation", {
  $ai_trace_id: trace, $ai_parent_id: trace, $ai_model: "gpt-4o-mini", $ai_provider: "openai",
  $ai_input: [{ role: "user", content: "Where is my parcel? It's <b>late</b>" }],
  $ai_output_choices: [{ role: "assistant", content: "It ships tomorrow." }],
  $ai_input_tokens: 12, $ai_output_tokens: 5, $ai_total_cost_usd: 0.00002, $ai_latency: 0.9,
});
posthog.capture("$ai_span", { $ai_trace_id: trace, $ai_parent_id: trace, $ai_span_name: "lookup order", $ai_latency: 0.2 });
posthog.capture("clicked send", { button: "send" });
window.__captured = true;
</script></body></html>`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const answered = [];
  const failed = [];
  page.on("requestfailed", (r) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on("console", (m) => { if (m.type() === "error") failed.push(`console: ${m.text().slice(0, 300)}`); });
  page.on("response", (r) => {
    if (r.url().startsWith(server) && r.request().method() === "POST") {
      const url = new URL(r.url());
      answered.push(`${url.pathname} ${url.searchParams.get("compression") || "plain"} ${r.status()}`);
    }
  });
  await page.goto(`${app}/index.html`);
  await page.waitForFunction(() => window.__captured === true, null, { timeout: 15000 });
  const sent = await page.evaluate(() => window.__sent);
  // One request per event (request_batching off); wait for each to be answered.
  const deadline = Date.now() + 20000;
  while (answered.length < sent.length && Date.now() < deadline) await page.waitForTimeout(100);
  assert.deepEqual(errors, [], "the page threw");
  assert.equal(sent.length, 4, `the SDK sent ${sent.length} events`);
  assert.equal(answered.length, sent.length, `answered: ${answered.join(", ")}; failed: ${failed.join("; ")}`);
  assert.ok(answered.every((a) => a.endsWith(" 200")), `answers: ${answered.join(", ")}`);
  const ai = sent.filter((e) => e.event.startsWith("$ai_"));
  writeFileSync(sentFile, ai.map((e) => JSON.stringify(e)).join("\n") + "\n");
  console.log(`posthog-js sent ${sent.length} events (${ai.length} $ai_*): ${answered.join(", ")}`);
} finally {
  await browser.close();
  appServer.close();
}
