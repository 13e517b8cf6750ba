// Live reload for the sitebuild preview server. The server injects this script into the HTML it
// serves in preview mode only; it is never written into the built site.
(function () {
  "use strict";
  var script = document.currentScript;
  var generation = (script && script.getAttribute("data-generation")) || "0";
  var page = decodeURIComponent(location.pathname).replace(/^\/+/, "");
  if (page === "" || page.slice(-1) === "/") page += "index.html";
  var badge = null;

  function show(text, failed) {
    if (!badge) {
      badge = document.createElement("div");
      badge.id = "sitebuild-preview-status";
      badge.setAttribute("role", "status");
      badge.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:99999;" +
        "max-width:min(46rem,90vw);max-height:60vh;overflow:auto;margin:0;padding:.5rem .8rem;" +
        "border-radius:6px;font:13px/1.4 ui-monospace,monospace;white-space:pre-wrap;" +
        "box-shadow:0 2px 10px rgba(0,0,0,.3)";
      document.body.appendChild(badge);
    }
    badge.style.background = failed ? "#7f1d1d" : "#1f2937";
    badge.style.color = "#fff";
    badge.textContent = text;
  }

  function hide() {
    if (badge) { badge.remove(); badge = null; }
  }

  var source = new EventSource("/__preview/events?page=" + encodeURIComponent(page) +
                               "&generation=" + encodeURIComponent(generation));
  var lost = false;
  source.addEventListener("building", function (e) {
    var pages = JSON.parse(e.data).pages || [];
    show("Rebuilding " + (pages.length ? pages.join(", ") : "the site") + "\u2026");
  });
  source.addEventListener("built", function (e) {
    var data = JSON.parse(e.data);
    if ((data.changed || []).indexOf(page) >= 0 || (data.changed || []).indexOf("*") >= 0) {
      location.reload();
    } else if (!data.more) {
      hide();
    }
  });
  source.addEventListener("reload", function () { location.reload(); });
  source.addEventListener("failed", function (e) {
    show("Build failed:\n" + JSON.parse(e.data).message, true);
  });
  source.onopen = function () {
    if (lost) location.reload();  // the server restarted: the site may have changed
    document.documentElement.setAttribute("data-preview", "connected");
  };
  source.onerror = function () {
    lost = true;
    show("Preview server not reachable; retrying\u2026", true);
  };
})();
