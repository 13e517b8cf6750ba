/* sitebuild: light/dark theme, sidebar toggle, code copy buttons and client-side search.
   No network access beyond this site's own search.json (loaded on first use). */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  /* -- theme ------------------------------------------------------------------------------ */
  function setupTheme() {
    var button = document.querySelector(".sb-theme-toggle");
    if (!button) return;
    function current() { return document.documentElement.getAttribute("data-theme") || "light"; }
    function show() { button.setAttribute("aria-pressed", current() === "dark" ? "true" : "false"); }
    show();
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      document.documentElement.setAttribute("data-theme", next);
      try { localStorage.setItem("sb-theme", next); } catch (e) { /* private mode */ }
      show();
    });
  }

  /* -- sidebar on narrow screens ------------------------------------------------------------ */
  function setupSidebar() {
    var button = document.querySelector(".sb-sidebar-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle("sb-sidebar-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* -- copy buttons on code blocks ---------------------------------------------------------- */
  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text, done); });
    } else {
      fallbackCopy(text, done);
    }
  }

  function fallbackCopy(text, done) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* not supported */ }
    document.body.removeChild(area);
  }

  function setupCopy() {
    var blocks = document.querySelectorAll(".sb-content div.sourceCode");
    Array.prototype.forEach.call(blocks, function (block) {
      var code = block.querySelector("code");
      if (!code) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sb-copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code to clipboard");
      button.addEventListener("click", function () {
        copyText(code.innerText, function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        });
      });
      block.appendChild(button);
    });
  }

  /* -- search ------------------------------------------------------------------------------- */
  function setupSearch() {
    var input = document.getElementById("sb-search-input");
    var list = document.getElementById("sb-search-results");
    if (!input || !list) return;
    var root = input.getAttribute("data-root") || "";
    var index = null;
    var loading = null;
    var selected = -1;

    function load() {
      if (index || loading) return loading;
      loading = fetch(input.getAttribute("data-index"))
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) { index = data; return data; })
        .catch(function () { index = []; return index; });
      return loading;
    }

    function score(entry, terms) {
      var title = entry.title.toLowerCase(), section = entry.section.toLowerCase();
      var text = entry.text.toLowerCase(), total = 0;
      for (var i = 0; i < terms.length; i++) {
        var t = terms[i], hit = 0;
        if (title.indexOf(t) >= 0) hit += 10;
        if (section.indexOf(t) >= 0) hit += 5;
        if (text.indexOf(t) >= 0) hit += 1;
        if (!hit) return 0;
        total += hit;
      }
      return total;
    }

    function snippet(text, term) {
      var at = text.toLowerCase().indexOf(term);
      if (at < 0) return text.slice(0, 140);
      var start = Math.max(0, at - 50);
      return (start ? "\u2026" : "") + text.slice(start, start + 160) + "\u2026";
    }

    function render(results, terms) {
      list.innerHTML = "";
      selected = -1;
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "sb-search-empty";
        none.textContent = "No results";
        list.appendChild(none);
      }
      results.forEach(function (entry, i) {
        var item = document.createElement("li");
        item.setAttribute("role", "option");
        item.id = "sb-search-result-" + i;
        var link = document.createElement("a");
        link.href = root + entry.href;
        var head = document.createElement("span");
        head.className = "sb-search-title";
        head.textContent = entry.section ? entry.title + " \u203a " + entry.section : entry.title;
        var body = document.createElement("span");
        body.className = "sb-search-snippet";
        body.textContent = snippet(entry.text, terms[0]);
        link.appendChild(head);
        link.appendChild(body);
        item.appendChild(link);
        list.appendChild(item);
      });
      list.hidden = false;
    }

    function search() {
      var query = input.value.trim().toLowerCase();
      if (!query) { list.hidden = true; return; }
      load().then(function () {
        var terms = query.split(/\s+/);
        var scored = [];
        index.forEach(function (entry) {
          var s = score(entry, terms);
          if (s) scored.push([s, entry]);
        });
        scored.sort(function (a, b) { return b[0] - a[0]; });
        render(scored.slice(0, 12).map(function (p) { return p[1]; }), terms);
      });
    }

    function move(step) {
      var items = list.querySelectorAll("li[role=option]");
      if (!items.length) return;
      selected = (selected + step + items.length) % items.length;
      Array.prototype.forEach.call(items, function (el, i) {
        el.classList.toggle("selected", i === selected);
      });
      input.setAttribute("aria-activedescendant", items[selected].id);
    }

    input.addEventListener("focus", load);
    input.addEventListener("input", search);
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") { move(1); event.preventDefault(); }
      else if (event.key === "ArrowUp") { move(-1); event.preventDefault(); }
      else if (event.key === "Escape") { list.hidden = true; input.blur(); }
      else if (event.key === "Enter") {
        var items = list.querySelectorAll("li[role=option] a");
        var target = items[selected >= 0 ? selected : 0];
        if (target) window.location.href = target.href;
      }
    });
    document.addEventListener("click", function (event) {
      if (!list.contains(event.target) && event.target !== input) list.hidden = true;
    });
    document.addEventListener("keydown", function (event) {
      var tag = (event.target && event.target.tagName) || "";
      if (event.key === "/" && tag !== "INPUT" && tag !== "TEXTAREA") {
        input.focus();
        event.preventDefault();
      }
    });
  }

  onReady(function () {
    setupTheme();
    setupSidebar();
    setupCopy();
    setupSearch();
  });
})();
