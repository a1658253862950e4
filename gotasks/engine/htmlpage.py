"""Self-contained HTML pages with inline SVG charts: no network, light and dark, printable."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Colours by meaning, as CSS variables: the dark scheme and print override the same names.
_CSS = """
:root { color-scheme: light dark;
  --bg: #ffffff; --fg: #1b1f24; --muted: #5b6470; --grid: #d8dde3; --panel: #f5f7f9;
  --ok: #2e8b57; --failed: #d1242f; --killed: #8b1a4a; --timeout: #c96b00;
  --interrupted: #9a6700; --skipped: #8c959f; --uptodate: #3b82c4; --waiting: #8c959f;
  --cpu: #3b82c4; --mem: #8250df; --limit: #d1242f; --critical: #1b1f24; --line: #3b82c4; }
@media (prefers-color-scheme: dark) { :root {
  --bg: #0d1117; --fg: #e6edf3; --muted: #9aa4ae; --grid: #30363d; --panel: #161b22;
  --ok: #3fb950; --failed: #f85149; --killed: #db61a2; --timeout: #f0883e;
  --interrupted: #d29922; --skipped: #6e7681; --uptodate: #58a6ff; --waiting: #6e7681;
  --cpu: #58a6ff; --mem: #bc8cff; --limit: #f85149; --critical: #f0f6fc; --line: #58a6ff; } }
@media print { :root { --bg: #ffffff; --fg: #000000; --panel: #ffffff; --critical: #000000; }
  .chart, table { break-inside: avoid; } th { cursor: auto; } }
body { background: var(--bg); color: var(--fg); margin: 1.5rem;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { font-size: 1.4rem; margin: 0 0 .75rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-family: ui-monospace, monospace; }
svg.chart { display: block; width: 100%; height: auto; background: var(--panel);
  border-radius: 6px; margin: .25rem 0; }
svg text { fill: var(--fg); font: 11px ui-monospace, monospace; }
svg .axis text, svg text.muted { fill: var(--muted); }
svg .grid line { stroke: var(--grid); stroke-width: 1; }
.s-ok { fill: var(--ok); } .s-failed { fill: var(--failed); } .s-killed { fill: var(--killed); }
.s-timeout { fill: var(--timeout); } .s-interrupted { fill: var(--interrupted); }
.s-skipped { fill: var(--skipped); } .s-uptodate { fill: var(--uptodate); }
.s-waiting, .s-running { fill: var(--waiting); }
g.bar rect { stroke: var(--bg); stroke-width: 1; }
g.bar.critical rect { stroke: var(--critical); stroke-width: 2.5; }
g.bar text { fill: #ffffff; pointer-events: none; }
.limit { stroke: var(--limit); stroke-width: 1.5; stroke-dasharray: 6 4; fill: none; }
.kill { stroke: var(--killed); stroke-width: 2; }
.kill-span { fill: var(--killed); opacity: .15; }
.series { fill: none; stroke-width: 1.5; }
.area-cpu { fill: var(--cpu); opacity: .25; } .line-cpu { stroke: var(--cpu); }
.area-mem { fill: var(--mem); opacity: .25; } .line-mem { stroke: var(--mem); }
.line { stroke: var(--line); } .spread { fill: var(--line); opacity: .18; }
.point { fill: var(--line); }
.change-worse { fill: var(--failed); } .change-better { fill: var(--ok); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid var(--grid); }
th { cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
td.num, th.num { text-align: right; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
  gap: .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
h3 small { color: var(--muted); font-weight: normal; }
.legend { display: flex; flex-wrap: wrap; gap: .75rem; margin: .25rem 0; color: var(--muted); }
.legend span::before { content: ""; display: inline-block; width: .8em; height: .8em;
  margin-right: .3em; vertical-align: -1px; background: var(--swatch); border-radius: 2px; }
.chip { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff; margin: 1px; }
.chip.s-skipped { background: var(--skipped); }
"""

# Click a column head to sort by it; numbers sort by data-v, text by its own content.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col], y = b.cells[col];
        var vx = x.dataset.v, vy = y.dataset.v, r;
        if (vx !== undefined && vy !== undefined) { r = parseFloat(vx) - parseFloat(vy); }
        else { r = x.textContent.localeCompare(y.textContent); }
        return asc ? r : -r;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def page(title: str, body: str) -> str:
    """A whole HTML document: inline CSS and script, nothing fetched from anywhere."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        # No network, whatever a viewer may try: fonts, images and scripts stay inline.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';'
        " style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n<script>{_SORT_JS}</script>\n</body>\n</html>\n"
    )


def facts_list(facts: Sequence[tuple[str, str]]) -> str:
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f'<dl class="facts">{items}</dl>'


def legend(entries: Sequence[tuple[str, str]]) -> str:
    """(css variable, label) pairs as coloured swatches."""
    spans = "".join(
        f'<span style="--swatch: var(--{var})">{escape(label)}</span>' for var, label in entries
    )
    return f'<div class="legend">{spans}</div>'


def sortable_table(head: Sequence[tuple[str, bool]], rows: Sequence[Sequence[Cell]]) -> str:
    """A table whose columns sort on a click; head is (label, numeric) per column."""
    ths = "".join(
        f'<th scope="col"{" class=num" if numeric else ""}>{escape(label)}</th>'
        for label, numeric in head
    )
    body = "\n".join("<tr>" + "".join(cell.html() for cell in row) + "</tr>" for row in rows)
    return f'<table class="sortable"><thead><tr>{ths}</tr></thead><tbody>\n{body}\n</tbody></table>'


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, and the number it sorts by (None: sorts as text)."""

    text: str
    value: float | None = None
    css: str = ""

    def html(self) -> str:
        attrs = ""
        if self.value is not None and math.isfinite(self.value):
            attrs += f' data-v="{self.value:g}" class="num{" " + self.css if self.css else ""}"'
        elif self.css:
            attrs += f' class="{self.css}"'
        return f"<td{attrs}>{escape(self.text)}</td>"


def nice_step(span: float, ticks: int = 6) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `ticks` ticks over span."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 5.0):
        if raw <= factor * power:
            return factor * power
    return 10.0 * power


def num(value: float) -> str:
    """A coordinate for SVG: two decimals at most, no exponent."""
    return f"{value:.2f}".rstrip("0").rstrip(".") if math.isfinite(value) else "0"
