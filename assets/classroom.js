/* MLSys·im classroom: "predict, then reveal" and "check my answer", in the browser only.

   Pages declare answers and predictions in Python (mlsysim/classroom.py); each declaration
   reaches the page as an invisible <script type="application/json" class="mlsysim-answer">
   inside the output of the cell that declared it. This script reads them and adds:

   - for a prediction (meta.prediction): a guess form at the end of the nearest "Predict"
     section before it (opened by a heading, a callout title or a bold lead-in starting with
     "Predict"), and at the declaration's own place the guess beside the engine's value and
     their ratio;
   - for the answers of an exercise (inside its worked-solution callout): a "Check my answer"
     box just before that callout, graded as mlsysim.classroom.check grades.

   Nothing leaves the browser: guesses are kept in localStorage (one key per page and
   prediction). A page without declarations is left untouched. Every declaration handled gets
   data-mlsysim-box = the id of its box (the site's browser check looks for it). */
(function () {
  "use strict";
  if (window.mlsysimClassroom) return;  // included twice: run once
  window.mlsysimClassroom = { version: 1 };

  var SELECTOR = 'script[type="application/json"].mlsysim-answer';
  var KINDS = ["number", "choice", "set", "free-text"];
  var PREDICT = /^\s*(?:[\d.]+\s+)?predict/i;   // "Predict", "Predict: …", "2.1 Predict …"
  var EXERCISE = /^\s*(?:[\d.]+\s+)?exercise\b/i;
  var memory = {};                              // when localStorage is refused
  var used = {};                                // element ids handed out

  // -- small helpers ------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function uniqueId(base) {
    var id = base, n = 1;
    while (used[id] || document.getElementById(id)) id = base + "-" + (++n);
    used[id] = true;
    return id;
  }

  function precedes(a, b) {
    return !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
  }

  function text(node) {
    return (node ? node.textContent : "").replace(/\s+/g, " ").trim();
  }

  var SUPERSCRIPT = { "-": "\u207b", "0": "\u2070", "1": "\u00b9", "2": "\u00b2",
    "3": "\u00b3", "4": "\u2074", "5": "\u2075", "6": "\u2076", "7": "\u2077", "8": "\u2078",
    "9": "\u2079" };

  /* Three significant figures, trailing zeros dropped (as Python's "{:.3g}"), grouped digits
     up to a million, a power of ten beyond. */
  function fmt(x) {
    if (!isFinite(x)) return String(x);
    if (x === 0) return "0";
    var exp = Math.floor(Math.log10(Math.abs(Number(x.toPrecision(3)))));
    if (exp >= 6 || exp < -3) {
      var parts = x.toExponential(2).split("e");
      var mantissa = String(Number(parts[0]));
      var power = String(Number(parts[1])).split("").map(function (c) {
        return SUPERSCRIPT[c];
      }).join("");
      return mantissa.replace("-", "\u2212") + "\u00d710" + power;
    }
    return new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 })
      .format(x).replace("-", "\u2212");
  }

  function withUnit(x, unit) {
    return unit ? fmt(x) + "\u00a0" + unit : fmt(x);
  }

  function percent(fraction) {
    return Number((fraction * 100).toPrecision(3)) + "\u00a0%";
  }

  /* A number typed by a reader, in the answer's unit: {value} or {error}. Accepts a leading
     sign (also "−"), decimals, an exponent, thousands commas (1,234.5) and the unit itself
     typed after the number. */
  function parseNumber(raw, unit) {
    var s = String(raw).replace(/[\u2212\u2012\u2013]/g, "-").trim();
    if (unit && s.slice(-unit.length) === unit) s = s.slice(0, -unit.length).trim();
    if (/^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/.test(s)) s = s.replace(/,/g, "");
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
      var what = unit ? "a number in " + unit : "a plain number";
      return { error: "type " + what + (s.indexOf(",") >= 0 ? " (with a dot for decimals)" : "") };
    }
    var value = Number(s);
    return isFinite(value) ? { value: value } : { error: "the number is too large" };
  }

  // -- declarations ---------------------------------------------------------------------------
  function valid(data) {
    if (!data || typeof data.name !== "string" || KINDS.indexOf(data.kind) < 0) return false;
    if (data.kind === "number") return typeof data.value === "number" && isFinite(data.value);
    if (data.kind === "set") return Array.isArray(data.value);
    if (data.kind === "choice") return typeof data.value === "string";
    return true;
  }

  function declarations() {
    var found = [];
    Array.prototype.forEach.call(document.querySelectorAll(SELECTOR), function (node) {
      var data = null;
      try {
        data = JSON.parse(node.textContent);
      } catch (e) { /* reported below */ }
      if (!valid(data)) {
        console.warn("mlsysim classroom: ignored a malformed declaration", node.textContent);
        return;
      }
      data.meta = data.meta && typeof data.meta === "object" ? data.meta : {};
      data.rtol = Number(data.rtol) || 0;
      data.atol = Number(data.atol) || 0;
      found.push({ node: node, data: data });
    });
    return found;
  }

  // -- the page's sections ----------------------------------------------------------------------
  var HEADINGS = "h1, h2, h3, h4, h5, h6";

  function headings() {
    return Array.prototype.filter.call(document.querySelectorAll(HEADINGS), function (h) {
      return !h.closest("nav, header.sb-title-block, .mlsysim-box, #TOC, .sidebar");
    });
  }

  function level(h) {
    return Number(h.tagName.charAt(1));
  }

  function lastBefore(list, node) {
    var best = null;
    list.forEach(function (item) {
      if (precedes(item.node || item, node)) best = item;
    });
    return best;
  }

  /* A paragraph that opens with a bold lead-in matching ``pattern`` ("**Predict** …"). */
  function leadIn(node, pattern) {
    var lead = node.matches("p") ? node.firstElementChild : null;
    if (!lead || lead.tagName !== "STRONG" || !pattern.test(text(lead))) return "";
    var before = node.firstChild;   // nothing but white space ahead of the bold text
    while (before && before !== lead) {
      if (before.nodeType !== Node.TEXT_NODE || before.nodeValue.trim()) return "";
      before = before.nextSibling;
    }
    return text(lead);
  }

  /* What opens a "Predict" section, in page order: a heading, a callout (by its title) or a
     paragraph with a bold lead-in. */
  function predictMarkers() {
    var marks = headings().filter(function (h) {
      return PREDICT.test(text(h));
    }).map(function (h) { return { node: h, kind: "heading" }; });
    Array.prototype.forEach.call(document.querySelectorAll(".callout"), function (c) {
      if (PREDICT.test(text(c.querySelector(".callout-title, .callout-title-container")))) {
        marks.push({ node: c, kind: "callout" });
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll("main p"), function (p) {
      if (!p.closest(".mlsysim-box") && leadIn(p, PREDICT)) marks.push({ node: p, kind: "lead" });
    });
    return marks.sort(function (a, b) { return precedes(a.node, b.node) ? -1 : 1; });
  }

  /* Where "the end of the section" a heading opens is: inside Quarto's <section> wrapper,
     its end; in a flat page, just before the next heading of the same or a higher level. */
  function appendToSection(heading, node) {
    var parent = heading.parentElement;
    if (parent.tagName === "SECTION" && parent.querySelector(HEADINGS) === heading) {
      parent.appendChild(node);
      return;
    }
    var next = heading.nextElementSibling;
    while (next && !(next.matches(HEADINGS) && level(next) <= level(heading))) {
      next = next.nextElementSibling;
    }
    parent.insertBefore(node, next);
  }

  function sectionLink(node) {
    var h = lastBefore(headings(), node);
    if (!h) return null;
    var id = h.id || (h.parentElement.tagName === "SECTION" ? h.parentElement.id : "");
    return id ? { id: id, title: text(h) } : null;
  }

  // -- storage ----------------------------------------------------------------------------------
  /* This page's path from the site root (quarto:offset), without ".html": the same key whether
     the site is served from a folder, a server root or the file system. */
  function pageKey() {
    var path = decodeURIComponent(location.pathname);
    var offset = document.querySelector('meta[name="quarto:offset"]');
    if (offset) {
      try {
        var root = decodeURIComponent(new URL(offset.getAttribute("content") || "./",
                                              location.href).pathname);
        if (path.indexOf(root) === 0) path = path.slice(root.length);
      } catch (e) { /* keep the full path */ }
    }
    if (path === "" || path.slice(-1) === "/") path += "index";
    return path.replace(/^\/+/, "").replace(/\.html?$/, "");
  }

  function storageKey(name) {
    return "mlsysim:guess:" + pageKey() + ":" + name;
  }

  function loadGuess(name) {
    var raw;
    try {
      raw = window.localStorage.getItem(storageKey(name));
    } catch (e) {
      raw = memory[storageKey(name)];
    }
    if (raw === null || raw === undefined) return null;
    var value = Number(raw);
    return raw !== "" && isFinite(value) ? value : null;
  }

  function saveGuess(name, value) {
    try {
      window.localStorage.setItem(storageKey(name), String(value));
    } catch (e) {
      memory[storageKey(name)] = String(value);
    }
  }

  // -- predict, then reveal ---------------------------------------------------------------------
  var predictions = {};   // name → {data, form, input, status, reveals: [], compute}

  function renderReveal(entry, reveal) {
    var data = entry.data, guess = loadGuess(data.name);
    reveal.textContent = "";
    if (guess === null) {
      var ask = entry.form && precedes(entry.form, reveal) ? "Make a guess above first"
        : "Make a guess first";
      reveal.appendChild(el("a", { href: "#" + entry.form.id, text: ask }));
      reveal.appendChild(document.createTextNode(", then compare it with the engine."));
      reveal.classList.remove("mlsysim-revealed");
      return;
    }
    var ratio;
    if (guess === 0) {
      ratio = "ratio Y/X: undefined for a guess of 0";
    } else {
      var r = data.value / guess;
      ratio = "ratio Y/X = " + fmt(r) + (r < 0 ? " (opposite signs)" : "");
    }
    reveal.appendChild(document.createTextNode("Your guess: " + withUnit(guess, data.unit)
      + " \u00b7 engine: " + withUnit(data.value, data.unit) + " \u00b7 " + ratio));
    reveal.classList.add("mlsysim-revealed");
  }

  function refresh(name) {
    var entry = predictions[name];
    entry.reveals.forEach(function (reveal) { renderReveal(entry, reveal); });
    var guess = loadGuess(name);
    if (guess !== null && document.activeElement !== entry.input) {
      entry.input.value = String(guess);
    }
  }

  function guessForm(entry) {
    var data = entry.data, id = uniqueId("mlsysim-guess-" + data.name);
    var input = el("input", { id: id + "-input", type: "text", inputmode: "decimal",
      autocomplete: "off", spellcheck: "false", "aria-describedby": id + "-status" });
    var status = el("p", { id: id + "-status", "class": "mlsysim-status", role: "status",
      "aria-live": "polite" });
    var row = el("div", { "class": "mlsysim-row" }, [input]);
    if (data.unit) row.appendChild(el("span", { "class": "mlsysim-unit", text: data.unit }));
    row.appendChild(el("button", { type: "submit", text: "Save my guess" }));
    var form = el("form", { id: id, "class": "mlsysim-box mlsysim-guess", novalidate: "",
      "aria-labelledby": id + "-title" }, [
      el("p", { id: id + "-title", "class": "mlsysim-box-title", text: "Your prediction" }),
      el("label", { "for": input.id, text: data.meta.prompt || data.name }),
      row, status]);
    function showSaved(value) {
      status.textContent = "";
      status.className = "mlsysim-status mlsysim-saved";
      status.appendChild(document.createTextNode("Saved: " + withUnit(value, data.unit) + "."));
      if (entry.compute) {
        status.appendChild(document.createTextNode(" Compare it with the engine in "));
        status.appendChild(el("a", { href: "#" + entry.compute.id, text: entry.compute.title }));
        status.appendChild(document.createTextNode("."));
      }
    }
    var guess = loadGuess(data.name);
    if (guess !== null) {
      input.value = String(guess);
      showSaved(guess);
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var parsed = parseNumber(input.value, data.unit);
      status.textContent = "";
      if (input.value.trim() === "") parsed = { error: "type your guess first" };
      if (parsed.error) {
        input.setAttribute("aria-invalid", "true");
        status.className = "mlsysim-status mlsysim-wrong";
        status.textContent = "Not saved: " + parsed.error + ".";
        return;
      }
      input.removeAttribute("aria-invalid");
      saveGuess(data.name, parsed.value);
      showSaved(parsed.value);
      refresh(data.name);
    });
    entry.input = input;
    return form;
  }

  function placeGuessForm(form, declaration) {
    var mark = lastBefore(predictMarkers(), declaration);
    var anchor = declaration.closest(".cell") || declaration;
    if (mark && mark.kind === "callout") {
      (mark.node.querySelector(".callout-body") || mark.node).appendChild(form);
    } else if (mark && mark.kind === "lead") {
      mark.node.parentNode.insertBefore(form, mark.node.nextSibling);
    } else if (mark) {
      appendToSection(mark.node, form);
    }
    // no Predict section, or the declaration sits inside it: ask just before the value
    if (!mark || !precedes(form, declaration)) anchor.parentNode.insertBefore(form, anchor);
  }

  function setUpPrediction(item) {
    var data = item.data, entry = predictions[data.name];
    if (!entry) {
      var own = sectionLink(item.node);   // the section that shows the value, if not Predict
      entry = predictions[data.name] = { data: data, reveals: [],
        compute: own && !PREDICT.test(own.title) ? own : null };
      entry.form = guessForm(entry);
      placeGuessForm(entry.form, item.node);
    }
    // not a live region: saving a guess up in Predict must not read the answer out
    var reveal = el("p", { id: uniqueId("mlsysim-reveal-" + data.name),
      "class": "mlsysim-box mlsysim-reveal" });
    item.node.parentNode.insertBefore(reveal, item.node.nextSibling);
    entry.reveals.push(reveal);
    renderReveal(entry, reveal);
    item.node.setAttribute("data-mlsysim-box", reveal.id);
  }

  // -- check my answer --------------------------------------------------------------------------
  /* How close a number must be, as the verdict of a wrong one says it. */
  function tolerance(data) {
    var unit = data.unit ? "\u00a0" + data.unit : "";
    if (data.rtol > 0 && data.atol > 0) {
      return "(allowed: within \u00b1" + percent(data.rtol) + " or \u00b1" + fmt(data.atol)
        + unit + ")";
    }
    if (data.rtol > 0) return "(allowed: within \u00b1" + percent(data.rtol) + ")";
    if (data.atol > 0) return "(allowed: within \u00b1" + fmt(data.atol) + unit + ")";
    return "(an exact answer is expected)";
  }

  function correct(name) {
    return { state: "correct", message: name + ": correct" };
  }

  /* Which side of the answer a wrong number is, and whether by more than 2x, as
     mlsysim.classroom.how_far says it: never the expected value, nor a ratio that gives it. */
  function howFar(value, target) {
    if (target === 0) return value > 0 ? "is too high" : "is too low";
    var ratio = value / target;
    if (ratio < 0) return "has the wrong sign";
    return "is too " + (ratio > 1 ? "high" : "low")
      + (ratio > 2 || ratio < 0.5 ? " by more than 2\u00d7" : "");
  }

  /* Grade one typed answer as mlsysim.classroom.check does; a wrong one says which side of
     the answer it is (and a count for sets), never the expected value. */
  function grade(data, raw) {
    var name = data.name;
    if (data.kind === "free-text") {
      return { state: "info", message: name + ": free text, not checked automatically" };
    }
    if (String(raw).trim() === "") return { state: "empty", message: name + ": no answer yet" };
    if (data.kind === "choice") {
      var got = String(raw).trim();
      return got.toLowerCase() === String(data.value).toLowerCase() ? correct(name)
        : { state: "wrong", message: name + ": \u201c" + got + "\u201d is not the answer" };
    }
    if (data.kind === "set") {
      var members = [];
      String(raw).split(",").forEach(function (m) {
        m = m.trim();
        if (m && members.indexOf(m) < 0) members.push(m);
      });
      var expected = data.value.map(String);
      var missing = expected.filter(function (m) { return members.indexOf(m) < 0; });
      var extra = members.filter(function (m) { return expected.indexOf(m) < 0; });
      if (!missing.length && !extra.length) return correct(name);
      var bits = [];
      if (missing.length) bits.push(missing.length + " missing");
      if (extra.length) bits.push("not in the answer: " + extra.join(", "));
      var lower = function (list) { return list.map(function (m) { return m.toLowerCase(); }); };
      var caseOnly = extra.length === missing.length && lower(extra).every(function (m) {
        return lower(missing).indexOf(m) >= 0;
      });
      return { state: "wrong", message: name + ": " + bits.join("; ")
        + (caseOnly ? " (check the capitalisation)" : "") };
    }
    var parsed = parseNumber(raw, data.unit);
    if (parsed.error) return { state: "invalid", message: name + ": " + parsed.error };
    var value = parsed.value, target = data.value;
    var allowed = Math.max(data.rtol * Math.abs(target), data.atol);
    if (Math.abs(value - target) <= allowed) return correct(name);
    return { state: "wrong",
             message: name + ": " + withUnit(value, data.unit) + " " + howFar(value, target)
               + " " + tolerance(data) };
  }

  function hint(data) {
    if (data.kind === "number") return data.unit ? "a number, in " + data.unit : "a number";
    if (data.kind === "set") return "names separated by commas";
    var value = String(data.value).toLowerCase();
    return value === "yes" || value === "no" ? "yes or no" : "a word or name";
  }

  function exerciseTitle(callout) {
    var h = lastBefore(headings(), callout);
    var node = callout.previousElementSibling;
    // a "**Exercise 2: …**" paragraph between the heading and the callout, not past another
    while (node && node !== h && !node.matches(".solution")) {
      var lead = leadIn(node, EXERCISE);
      if (lead) return lead.replace(/[.:]\s*$/, "");
      node = node.previousElementSibling;
    }
    return h && EXERCISE.test(text(h)) ? text(h) : "";
  }

  function field(box, data) {
    var id = uniqueId(box.id + "-" + data.name);
    var label = el("label", { "for": id }, [el("code", { text: data.name })]);
    var prompt = data.meta.label || data.meta.prompt;
    if (prompt) label.appendChild(document.createTextNode(" " + prompt));
    var verdict = el("span", { id: id + "-verdict", "class": "mlsysim-verdict",
      "aria-live": "polite" });
    var row = el("div", { "class": "mlsysim-field", "data-answer": data.name });
    if (data.kind === "free-text") {
      row.appendChild(el("p", { "class": "mlsysim-free" }, [el("code", { text: data.name }),
        ": free text, not checked here. Write yours down, then compare it with the worked "
        + "solution."]));
      return { row: row, data: data };
    }
    var input = el("input", { id: id, type: "text", autocomplete: "off", spellcheck: "false",
      "aria-describedby": id + "-hint " + id + "-verdict" });
    if (data.kind === "number") input.setAttribute("inputmode", "decimal");
    var parts = [input];
    if (data.unit) parts.push(el("span", { "class": "mlsysim-unit", text: data.unit }));
    row.appendChild(label);
    row.appendChild(el("span", { id: id + "-hint", "class": "mlsysim-hint",
      text: "(" + hint(data) + ")" }));
    row.appendChild(el("div", { "class": "mlsysim-row" }, parts));
    row.appendChild(verdict);
    input.addEventListener("input", function () {   // an edited answer is not graded yet
      verdict.textContent = "";
      verdict.className = "mlsysim-verdict";
      input.removeAttribute("aria-invalid");
    });
    return { row: row, data: data, input: input, verdict: verdict };
  }

  function checkBox(callout, items) {
    var id = uniqueId("mlsysim-check-" + (document.querySelectorAll(".mlsysim-check").length + 1));
    var title = exerciseTitle(callout);
    var form = el("form", { id: id, "class": "mlsysim-box mlsysim-check", novalidate: "",
      "aria-labelledby": id + "-title" });
    var heading = el("p", { id: id + "-title", "class": "mlsysim-box-title",
      text: "Check my answer" });
    if (title) {
      heading.appendChild(el("span", { "class": "mlsysim-box-sub", text: " \u00b7 " + title }));
    }
    form.appendChild(heading);
    var units = items.some(function (item) { return item.data.unit; });
    form.appendChild(el("p", { "class": "mlsysim-note", text: "Your answers stay in this "
      + "browser." + (units ? " Type numbers in the unit shown." : "") }));
    var fields = items.map(function (item) {
      var f = field(form, item.data);
      form.appendChild(f.row);
      item.node.setAttribute("data-mlsysim-box", id);
      return f;
    });
    var graded = fields.filter(function (f) { return f.input; });
    var summary = el("p", { "class": "mlsysim-summary", role: "status", "aria-live": "polite" });
    if (graded.length) {
      form.appendChild(el("div", { "class": "mlsysim-actions" }, [
        el("button", { type: "submit", text: "Check" })]));
    }
    form.appendChild(summary);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var right = 0;
      graded.forEach(function (f) {
        var result = grade(f.data, f.input.value);
        f.verdict.textContent = result.message;
        f.verdict.className = "mlsysim-verdict mlsysim-" + result.state;
        if (result.state === "correct") {
          right += 1;
          f.input.removeAttribute("aria-invalid");
        } else if (result.state === "empty") {
          f.input.removeAttribute("aria-invalid");
        } else {
          f.input.setAttribute("aria-invalid", "true");
        }
      });
      summary.textContent = right === graded.length
        ? (graded.length === 1 ? "Correct." : "All " + graded.length + " answers are correct.")
        : right + " of " + graded.length + " correct.";
    });
    callout.parentNode.insertBefore(form, callout);
  }

  function setUpAnswers(items) {
    var groups = [];   // [{callout, items}], in page order
    items.forEach(function (item) {
      var callout = item.node.closest(".solution") || item.node.closest(".callout")
        || item.node.closest(".cell") || item.node;
      var group = groups.filter(function (g) { return g.callout === callout; })[0];
      if (!group) groups.push(group = { callout: callout, items: [] });
      group.items.push(item);
    });
    groups.forEach(function (g) { checkBox(g.callout, g.items); });
  }

  // -- start ------------------------------------------------------------------------------------
  function start() {
    var found = declarations();
    if (!found.length) return;
    var answers = [];
    found.forEach(function (item) {
      if (item.data.meta.prediction === true && item.data.kind === "number") {
        setUpPrediction(item);
      } else {
        answers.push(item);
      }
    });
    setUpAnswers(answers);
    window.addEventListener("storage", function (event) {   // a guess saved in another tab
      Object.keys(predictions).forEach(function (name) {
        if (event.key === null || event.key === storageKey(name)) refresh(name);
      });
    });
  }

  function safeStart() {
    try {
      start();
    } catch (e) {   // never break the page; the site's browser check reports missing boxes
      console.warn("mlsysim classroom:", e);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", safeStart);
  else safeStart();
})();
