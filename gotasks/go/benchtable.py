"""The text table of a benchmark comparison (go/benchcompare.py), laid out as benchstat's:
times in seconds and rates in bytes with SI prefixes, four significant digits, footnotes."""

from __future__ import annotations

import math

from gotasks.go.benchcompare import Comparison, Row
from gotasks.go.benchfmt import short_name

__all__ = ["format_table"]

# benchstat shows times in seconds and rates in bytes, with SI prefixes; so do we.
_TIDY_UNITS = {"ns/op": ("sec/op", 1e-9), "MB/s": ("B/s", 1e6)}
_SI_PREFIXES = [
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
    (1e-12, "p"),
]
_BINARY_PREFIXES = [(2.0**40, "Ti"), (2.0**30, "Gi"), (2.0**20, "Mi"), (2.0**10, "Ki")]


def _tidy_unit(unit: str) -> tuple[str, float]:
    return _TIDY_UNITS.get(unit, (unit, 1.0))


def _four_digits(x: float) -> str:
    return f"{x:#.4g}".rstrip(".")


def _scaled(value: float, unit: str) -> str:
    """Four significant digits and a prefix, e.g. 1.043µ, 128.0, 1.500Ki."""
    if value == 0:
        return _four_digits(0.0)
    if not math.isfinite(value):
        return f"{value:g}"
    size = abs(value)
    prefixes = _BINARY_PREFIXES if unit.startswith("B/") else _SI_PREFIXES
    for factor, prefix in prefixes:
        if size >= factor:
            return _four_digits(value / factor) + prefix
    return _four_digits(value) if unit.startswith("B/") else f"{value:.3g}"


def _delta_text(row: Row) -> str:
    if not row.significant:
        return "~"
    if row.delta_pct is None:
        return "?"
    if row.old_median == row.new_median:
        return "0.00%"
    return f"{row.delta_pct:+.2f}%"


def _n_text(n1: int, n2: int) -> str:
    return str(n1) if n1 == n2 else f"{n1}+{n2}"


def _render(table: list[list[str]]) -> list[str]:
    """Left-align the first column, right-align the rest, two spaces apart.

    A one-cell row is a heading: printed as it is and left out of the column widths.
    """
    cells_rows = [r for r in table if len(r) > 1]
    widths = [max(len(r[i]) for r in cells_rows) for i in range(len(cells_rows[0]))]
    lines = []
    for r in table:
        if len(r) == 1:
            lines.append(r[0])
            continue
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return lines


def format_table(comparison: Comparison, *, old_label: str = "old", new_label: str = "new") -> str:
    """A plain-text table in the spirit of benchstat's: one section per unit.

    Columns are name, old median, new median, delta ("~" when not significant), p and n;
    notes become numbered footnotes.
    """
    footnotes: list[str] = []

    def mark(note: str) -> str:
        if not note:
            return ""
        if note not in footnotes:
            footnotes.append(note)
        return f"({footnotes.index(note) + 1})"

    units: list[str] = []
    for unit in [r.unit for r in comparison.rows] + [
        u.unit for u in comparison.only_old + comparison.only_new
    ]:
        if unit not in units:
            units.append(unit)
    pkgs = {r.pkg for r in comparison.rows} | {
        u.pkg for u in comparison.only_old + comparison.only_new
    }
    out: list[str] = []
    if len(pkgs) == 1 and "" not in pkgs:
        out += [f"pkg: {next(iter(pkgs))}", ""]

    geomeans = {g.unit: g for g in comparison.geomeans}
    for unit in units:
        shown, scale = _tidy_unit(unit)

        def fmt(value: float, shown: str = shown, scale: float = scale) -> str:
            return _scaled(value * scale, shown)

        # (pkg, cells) so the rows of a package can be given a heading when there are several.
        entries: list[tuple[str, list[str]]] = []
        for r in comparison.rows:
            if r.unit == unit:
                name = short_name(r.name)
                cells = [name, fmt(r.old_median), fmt(r.new_median), _delta_text(r)]
                cells += [f"{r.p_value:.3f}", _n_text(r.old_n, r.new_n), mark(r.note)]
                entries.append((r.pkg, cells))
        for u, side in [(u, "old") for u in comparison.only_old] + [
            (u, "new") for u in comparison.only_new
        ]:
            if u.unit == unit:
                name = short_name(u.name)
                old_cell, new_cell = (fmt(u.median), "-") if side == "old" else ("-", fmt(u.median))
                entries.append((u.pkg, [name, old_cell, new_cell, "", "", str(u.n), ""]))

        table: list[list[str]] = [[shown, old_label, new_label, "delta", "p", "n", ""]]
        last_pkg: str | None = None
        # Keep each package's rows together (the one-run rows were appended last).
        pkg_order = list(dict.fromkeys(pkg for pkg, _ in entries))
        entries.sort(key=lambda entry: pkg_order.index(entry[0]))
        for pkg, cells in entries:
            if len(pkgs) > 1 and pkg != last_pkg:
                table.append([f"pkg: {pkg or '?'}"])
                last_pkg = pkg
            table.append(cells)
        gm = geomeans.get(unit)
        # With one benchmark the geomean would only repeat its row.
        if gm is not None and gm.n > 1:
            old_gm = "-" if gm.old is None else fmt(gm.old)
            new_gm = "-" if gm.new is None else fmt(gm.new)
            delta = "?" if gm.delta_pct is None else f"{gm.delta_pct:+.2f}%"
            table.append(["geomean", old_gm, new_gm, delta, "", "", mark(gm.note)])
        out += [*_render(table), ""]

    for i, note in enumerate(footnotes, 1):
        out.append(f"({i}) {note}")
    return "\n".join(out).rstrip("\n") + "\n"
