function llmcEl(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
function llmcMs(ms) { return ms == null ? "" : ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(2) + " s"; }
function llmcSummary(box, s) {
  box.appendChild(llmcEl("h3", "sum-title", s.title));
  if (s.bullets.length) { var ul = llmcEl("ul", "sum-bullets"); s.bullets.forEach(function (b) { ul.appendChild(llmcEl("li", null, b)); }); box.appendChild(ul); }
  if (s.flow) box.appendChild(llmcEl("pre", "sum-flow", s.flow));
  if (s.notes.length) { var nl = llmcEl("ul", "sum-notes"); s.notes.forEach(function (n) { nl.appendChild(llmcEl("li", null, n)); }); box.appendChild(nl); }
}
function llmcText(box, label, t) {
  if (!t) return;
  box.appendChild(llmcEl("div", null, label + (t.chars > t.text.length ? " (first " + t.text.length + " of " + t.chars + " characters)" : "")));
  var pre = llmcEl("pre", null, t.text);
  box.appendChild(pre);
  if (t.text.length > 1500) {
    var more = llmcEl("button", null, "show all");
    more.addEventListener("click", function (e) { e.stopPropagation(); pre.classList.toggle("open"); more.textContent = pre.classList.contains("open") ? "fold" : "show all"; });
    box.appendChild(more);
  }
}
function llmcTimeline(box, t, leftOut) {
  var total = t.span || 0;
  box.appendChild(llmcEl("p", "tl-head", t.steps.length + " steps" + (total ? ", " + llmcMs(total) + " from first start to last end" : "") +
    (leftOut ? "; " + leftOut + " more steps not shown" : "") + ". Click a step for its input and output."));
  t.steps.forEach(function (s) {
    var row = llmcEl("div", "tl-row" + (s.error ? " error" : ""));
    row.setAttribute("data-step", s.id);
    var label = llmcEl("div", "tl-label");
    label.style.paddingLeft = Math.min(s.depth, 30) * 14 + "px";
    label.appendChild(llmcEl("span", "tl-kind", s.kind));
    label.appendChild(document.createTextNode((s.name || s.model || "") + (s.name && s.model ? " · " + s.model : "")));
    var meta = [llmcMs(s.duration)];
    if (s.inTokens != null || s.outTokens != null) meta.push((s.inTokens || 0) + "→" + (s.outTokens || 0) + " tok");
    if (s.cost != null) meta.push("$" + s.cost.toFixed(4));
    label.appendChild(llmcEl("span", "tl-meta", meta.filter(Boolean).join(" · ")));
    var track = llmcEl("div", "tl-track");
    if (s.start != null && total > 0) {
      var bar = llmcEl("div", "tl-bar " + s.kind);
      bar.style.left = (100 * s.start / total) + "%";
      bar.style.width = Math.max(0.3, 100 * (s.duration || 0) / total) + "%";
      bar.title = llmcMs(s.duration);
      track.appendChild(bar);
    }
    row.appendChild(label); row.appendChild(track);
    var detail = null;
    row.addEventListener("click", function () {
      if (detail) { detail.remove(); detail = null; return; }
      detail = llmcEl("div", "tl-detail");
      if (s.error) detail.appendChild(llmcEl("div", "tl-error", "Error: " + s.error));
      if (s.tools.length) detail.appendChild(llmcEl("div", null, "Tool calls: " + s.tools.join(", ")));
      llmcText(detail, "Input", s.input); llmcText(detail, "Output", s.output);
      if (!s.input && !s.output && !s.error) detail.appendChild(llmcEl("div", "tl-meta", "No input or output captured."));
      row.after(detail);
    });
    box.appendChild(row);
  });
}
