/* Sortable, filterable tables for MLSys·im pages. No libraries, no network.
 *
 * <table class="mlsysim-table sortable" id="t">: each header becomes a button; a click (or Enter /
 * Space) sorts the body by that column, ascending then descending, and sets aria-sort. Cells are
 * compared by their data-sort attribute when present (raw SI numbers), else by their text.
 * Empty values (data-sort="" or a dash) always sort last.
 * <input data-filter-for="t">: hides rows that do not contain every word typed (any column).
 * <span data-filter-count-for="t"></span>: optional "N of M rows" status next to the input. */
(function () {
  "use strict";
  var EMPTY = /^[\s\u2014\u2013-]*$/;

  function key(row, col) {
    var cell = row.cells[col];
    if (!cell) return null;
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (EMPTY.test(raw)) return null;
    var num = Number(raw);
    return isNaN(num) ? raw.trim().toLowerCase() : num;
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function sortBy(table, th, col) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, key: key(row, col), i: i };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {  // blanks last, whatever the direction
        return a.key === b.key ? a.i - b.i : (a.key === null ? 1 : -1);
      }
      return dir * compare(a.key, b.key) || a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tBodies.length || table.hasAttribute("data-sortable-ready")) return;
    table.setAttribute("data-sortable-ready", "");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "mlsysim-sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () { sortBy(table, th, col); });
    });
  }

  function makeFilter(input) {
    var table = document.getElementById(input.getAttribute("data-filter-for"));
    if (!table || !table.tBodies.length || input.hasAttribute("data-filter-ready")) return;
    input.setAttribute("data-filter-ready", "");
    var status = document.querySelector('[data-filter-count-for="' + table.id + '"]');
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var rows = table.tBodies[0].rows, shown = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var text = row.textContent.toLowerCase();
        var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (status) status.textContent = shown + " of " + rows.length + " rows";
    }
    input.addEventListener("input", apply);
    apply();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table.mlsysim-table.sortable"),
      makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter-for]"), makeFilter);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
