(function () {
  var data = JSON.parse(document.getElementById("data").textContent);
  document.getElementById("title").textContent = data.summary ? data.summary.title : data.trace;
  document.getElementById("trace-id").textContent = data.trace;
  var summary = document.getElementById("summary");
  if (data.summary) { llmcSummary(summary, data.summary); } else { summary.hidden = true; }
  var list = document.getElementById("cluster-list");
  if (!data.clusters.length) { var none = document.createElement("li"); none.textContent = "In no cluster yet (no succeeded run placed it)."; list.appendChild(none); }
  data.clusters.forEach(function (c) {
    var li = document.createElement("li");
    li.textContent = c.job + " (" + c.level + ", run " + c.run + "): " + c.title + (c.cluster === -1 ? "" : " — cluster " + c.cluster);
    list.appendChild(li);
  });
  llmcTimeline(document.getElementById("timeline"), data.timeline, data.leftOut);
})();
