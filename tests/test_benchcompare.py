"""Tests for gotasks.go.benchfmt (the Go benchmark format) and gotasks.go.benchcompare."""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import random
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from gotasks.go.benchcompare import Row, compare
from gotasks.go.benchfmt import BenchResult, format_results, group, parse, parse_file, write_file
from gotasks.go.benchstat import BenchstatError, run_benchstat
from gotasks.go.benchtable import format_table
from gotasks.go.mannwhitney import mann_whitney_u, samples_needed

GO_MOD = "module example.com/benchdemo\n\ngo 1.21\n"
DEMO_GO = "package benchdemo\n"
DEMO_TEST_GO = textwrap.dedent(
    """\
    package benchdemo

    import "testing"

    var sink []byte
    var total int

    func BenchmarkFast(b *testing.B) {
        for i := 0; i < b.N; i++ {
            total += i
        }
    }

    // BenchmarkSlow allocates once and loops, so it is slower and shows B/op and allocs/op.
    func BenchmarkSlow(b *testing.B) {
        for i := 0; i < b.N; i++ {
            sink = make([]byte, 64)
            for j := 0; j < 2000; j++ {
                total += j ^ i
            }
        }
    }
    """
)


def results(pkg: str, name: str, unit: str, values: list[float]) -> list[BenchResult]:
    return [BenchResult(pkg, name, 1000, {unit: v}, {"pkg": pkg}) for v in values]


def only_row(old: list[BenchResult], new: list[BenchResult]) -> Row:
    cmp = compare(old, new)
    assert len(cmp.rows) == 1
    return cmp.rows[0]


# --- benchfmt ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def go_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not on PATH: cannot produce real `go test -bench` output")
    mod = tmp_path_factory.mktemp("benchdemo")
    (mod / "go.mod").write_text(GO_MOD)
    (mod / "demo.go").write_text(DEMO_GO)
    (mod / "demo_test.go").write_text(DEMO_TEST_GO)
    cmd = [go, "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "5"]
    cmd += ["-benchtime", "2000x"]
    # GOWORK=off: a go.work above the temp dir must not swallow this throwaway module.
    env = {**os.environ, "GOWORK": "off"}
    proc = subprocess.run(
        cmd, cwd=mod, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_parse_real_go_test_output(go_output: str) -> None:
    parsed = parse(go_output)
    assert len(parsed) == 10
    by_name: dict[str, list[BenchResult]] = {}
    for r in parsed:
        base = re.sub(r"-\d+$", "", r.name)
        by_name.setdefault(base, []).append(r)
        assert r.pkg == "example.com/benchdemo"
        assert r.config["pkg"] == "example.com/benchdemo"
        assert {"goos", "goarch"} <= r.config.keys()
        assert r.iterations == 2000
        assert set(r.values) == {"ns/op", "B/op", "allocs/op"}
        # go test adds -GOMAXPROCS to the name unless GOMAXPROCS is 1.
        assert r.procs is None or r.name.endswith(f"-{r.procs}")
    assert sorted(by_name) == ["BenchmarkFast", "BenchmarkSlow"]
    assert all(len(rs) == 5 for rs in by_name.values())

    fast, slow = by_name["BenchmarkFast"], by_name["BenchmarkSlow"]
    # The runtime may allocate now and then during a run on a loaded machine (a few bytes
    # per op once divided by 2000): the median tells the benchmarks apart, not every run.
    assert sorted(r.values["allocs/op"] for r in fast)[2] == 0
    assert max(r.values["B/op"] for r in fast) < 64
    assert all(r.values["allocs/op"] >= 1 and r.values["B/op"] >= 64 for r in slow)

    grouped = group(parsed)
    assert list(grouped) == [fast[0].key, slow[0].key]
    assert fast[0].key == ("example.com/benchdemo", fast[0].name)
    assert len(grouped[fast[0].key]["ns/op"]) == 5


def test_real_output_round_trips_and_compares_with_itself(go_output: str, tmp_path: Path) -> None:
    parsed = parse(go_output)
    path = tmp_path / "bench.txt"
    write_file(path, parsed)
    assert parse_file(path) == parsed

    cmp = compare(parsed, parse_file(path))
    assert len(cmp.rows) == 6  # 2 benchmarks x 3 units
    assert not any(row.significant for row in cmp.rows)
    assert all(row.delta_pct == 0.0 for row in cmp.rows)
    assert not cmp.only_old and not cmp.only_new


def test_parse_config_custom_units_and_noise() -> None:
    text = textwrap.dedent(
        """\
        goos: linux
        goarch: amd64
        pkg: example.com/a
        cpu: Intel(R) Xeon(R) CPU @ 2.20GHz
        commit: abc123
        env: prod
        go: go1.26.8
        BenchmarkDecode
        BenchmarkDecode-8 \t 1000000\t 1043 ns/op\t 98.50 MB/s\t 128 B/op\t 2 allocs/op
        --- BENCH: BenchmarkDecode-8
            decode_test.go:12: some log line
        BenchmarkBroken-8   \t     abc\t      1043 ns/op
        BenchmarkNoUnit-8   \t     100\t      1043
        BenchmarkNaN-8      \t     100\t      xyz ns/op
        BenchmarkCustom/size=10-8 \t 500 \t 3.5e+03 ns/op \t 7 widgets/op
        Not: a config line
        ok: but this one is
        PASS
        ok  \texample.com/a\t1.234s
        pkg: example.com/b
        env:
        Benchmark 10 1 ns/op
        FAIL\texample.com/c [build failed]

        """
    )
    parsed = parse(text)
    assert [(r.pkg, r.name) for r in parsed] == [
        ("example.com/a", "BenchmarkDecode-8"),
        ("example.com/a", "BenchmarkCustom/size=10-8"),
        ("example.com/b", "Benchmark"),
    ]
    decode, custom, bare = parsed
    assert decode.iterations == 1_000_000
    assert decode.values == {"ns/op": 1043.0, "MB/s": 98.5, "B/op": 128.0, "allocs/op": 2.0}
    assert decode.procs == 8 and decode.short_name == "Decode-8"
    assert decode.config["cpu"] == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert decode.config["commit"] == "abc123"
    assert decode.config["env"] == "prod"
    assert decode.config["go"] == "go1.26.8"
    assert custom.values == {"ns/op": 3500.0, "widgets/op": 7.0}
    assert "ok" not in custom.config and bare.config["ok"] == "but this one is"
    # A key with an empty value is unset, per the format spec.
    assert "env" not in bare.config and bare.config["pkg"] == "example.com/b"
    assert bare.procs is None and bare.short_name == "Benchmark"


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "PASS\n", "Benchmark", "BenchmarkX-8 1 2 ns/op 3\n", "BenchmarkX 1 inf ns/op"],
)
def test_parse_never_raises_on_junk(text: str) -> None:
    assert parse(text) == []


def test_parse_fuzz_never_raises() -> None:
    rng = random.Random(7)
    alphabet = "Benchmark -:\t\n0123456789.e+ns/opBallocs goos pkg"
    for _ in range(500):
        parse("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))))


def test_format_results_round_trip() -> None:
    original = parse(
        "goos: linux\npkg: a\ncommit: abc\n"
        "BenchmarkX-4 10 1.25 ns/op 0.1 B/op 123456789 allocs/op\n"
        "pkg: b\ncommit:\n"
        "BenchmarkY 3 1e-05 ns/op\n"
    )
    text = format_results(original)
    assert parse(text) == original
    assert "commit:\n" in text  # unsetting a key is written out too


# --- Mann-Whitney U ---------------------------------------------------------------------


def test_u_test_complete_separation_exact() -> None:
    # By hand: of the C(10, 5) = 252 equally likely orderings only one puts all of y above
    # all of x, and one the reverse, so the exact two-sided p is 2/252 = 0.00794.
    res = mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert res.exact and res.u == 0
    assert res.p == pytest.approx(2 / 252, rel=1e-12)


def test_u_test_scipy_documentation_example() -> None:
    # The example in scipy.stats.mannwhitneyu's documentation (ages of male and female
    # students): statistic 17.0, method="exact" p = 0.1111111111111111, and
    # method="asymptotic" (normal approximation, continuity correction) p = 0.11134688653314041.
    males, females = [19, 22, 16, 29, 24], [20, 11, 17, 12]
    exact = mann_whitney_u(males, females)
    assert exact.exact and exact.u == 17
    assert exact.p == pytest.approx(0.1111111111111111, rel=1e-12)
    normal = mann_whitney_u(males, females, exact=False)
    assert not normal.exact
    assert normal.p == pytest.approx(0.11134688653314041, rel=1e-12)


def test_u_test_ties_by_hand() -> None:
    # Pooled 1,2,2,2,3,4 has mid-ranks 1,3,3,3,5,6; x = [1,2,2] gets 1+3+3 = 7, so U = 7-6 = 1.
    # Of the C(6,3) = 20 ways to draw x's ranks, only {1, two of the three 3s} (3 ways) give a
    # rank sum <= 7, so P(U <= 1) = 3/20 and the two-sided p is 0.3.
    res = mann_whitney_u([1, 2, 2], [2, 3, 4])
    assert res.exact and res.u == 1
    assert res.p == pytest.approx(0.3, rel=1e-12)


@pytest.mark.parametrize(
    ("x", "y", "expected_p", "exact"),
    [
        # Reference p-values printed by go-moremath's stats.MannWhitneyUTest (what benchstat
        # calls), for samples where the first one is the smaller, so its tail is the same.
        (
            [1, 1, 2, 2, 2, 3, 3, 4, 5, 5],
            [3, 4, 4, 5, 5, 6, 6, 6, 7, 8],
            0.0022624434389140274,
            True,
        ),
        ([128, 128, 128, 128, 136], [128, 136, 136, 136, 136], 0.20634920634920634, True),
        # 30 values a side with ties: past benchstat's exact limit, so the normal approximation.
        (
            [float(i % 7) for i in range(30)],
            [float(i % 7 + 1) for i in range(30)],
            0.075819054167840641,
            False,
        ),
    ],
)
def test_u_test_matches_benchstat_reference(
    x: list[float], y: list[float], expected_p: float, exact: bool
) -> None:
    res = mann_whitney_u(x, y)
    assert res.exact is exact
    assert res.p == pytest.approx(expected_p, rel=1e-12)


def _brute_force_p(x: list[float], y: list[float]) -> float:
    """Enumerate every split of the pooled values: the definition of the exact test."""
    pooled = sorted(x + y)
    midrank = {v: (pooled.index(v) + 1 + len(pooled) - pooled[::-1].index(v)) / 2 for v in pooled}
    n1, values = len(x), x + y

    def u_of(ranks: list[float]) -> float:
        return sum(ranks) - n1 * (n1 + 1) / 2

    observed = u_of([midrank[v] for v in x])
    us = [
        u_of([midrank[values[i]] for i in idx])
        for idx in itertools.combinations(range(len(values)), n1)
    ]
    mean = n1 * len(y) / 2
    if observed == mean:
        return 1.0
    tail = sum(u <= observed for u in us) if observed < mean else sum(u >= observed for u in us)
    return min(1.0, 2 * tail / len(us))


def test_u_test_exact_with_ties_matches_enumeration() -> None:
    rng = random.Random(42)
    for _ in range(150):
        x = [float(rng.randint(0, 4)) for _ in range(rng.randint(1, 7))]
        y = [float(rng.randint(0, 4) + rng.choice([0, 1])) for _ in range(rng.randint(1, 7))]
        if len(set(x + y)) == 1:
            continue
        expected = _brute_force_p(x, y)
        assert mann_whitney_u(x, y).p == pytest.approx(expected, rel=1e-12), (x, y)
        # The test does not depend on which sample is called old.
        assert mann_whitney_u(y, x).p == pytest.approx(expected, rel=1e-12), (x, y)


def test_u_test_large_samples_are_fast_and_sane() -> None:
    rng = random.Random(1)
    x = [rng.random() for _ in range(50)]
    y = [v + 0.5 for v in x]
    res = mann_whitney_u(x, y)
    assert res.exact and res.p < 1e-6
    assert not mann_whitney_u(x * 2, y * 2).exact  # ties and > 25 a side: normal approximation
    with pytest.raises(ValueError):
        mann_whitney_u([], [1.0])


def test_samples_needed() -> None:
    # The smallest two-sided p with n a side is 2/C(2n, n): 0.1 for 3, 0.0286 for 4,
    # 0.0079 for 5, the same table benchstat keeps (uTestMinP).
    assert samples_needed(0.05) == 4
    assert samples_needed(0.01) == 5
    assert samples_needed(1.0) == 1


# --- compare ----------------------------------------------------------------------------


def test_identical_samples_are_not_significant() -> None:
    row = only_row(
        results("p", "BenchmarkA", "ns/op", [5.0] * 5),
        results("p", "BenchmarkA", "ns/op", [5.0] * 5),
    )
    assert row.p_value == 1.0
    assert not row.significant
    assert row.delta_pct == 0.0
    assert row.note == "all samples are equal"

    same = [100.0, 101.0, 99.0, 102.0, 98.0]
    row = only_row(
        results("p", "BenchmarkA", "ns/op", same), results("p", "BenchmarkA", "ns/op", same)
    )
    assert row.p_value == 1.0 and not row.significant and row.note == ""


def test_clear_2x_slowdown_is_significant() -> None:
    old = [100.0 + i for i in range(10)]
    new = [2 * v for v in old]
    row = only_row(
        results("p", "BenchmarkA", "ns/op", old), results("p", "BenchmarkA", "ns/op", new)
    )
    assert row.old_median == pytest.approx(104.5)
    assert row.new_median == pytest.approx(209.0)
    assert row.delta_pct == pytest.approx(100.0)
    assert row.significant
    assert row.p_value == pytest.approx(2 / math.comb(20, 10), rel=1e-12)  # full separation
    assert (row.old_n, row.new_n) == (10, 10)
    assert row.note == ""


@pytest.mark.parametrize("n", [1, 2, 3])
def test_too_few_samples_says_so(n: int) -> None:
    old = results("p", "BenchmarkA", "ns/op", [float(i) for i in range(n)])
    new = results("p", "BenchmarkA", "ns/op", [1000.0 + i for i in range(n)])
    row = only_row(old, new)
    assert not row.significant
    assert row.note == "need >= 4 samples to detect a difference at alpha level 0.05"
    assert "~" in format_table(compare(old, new))


def test_enough_samples_on_one_side_is_enough() -> None:
    # As benchstat: 4 a side can reach p <= 0.05, and so can 3 against 10.
    four = only_row(
        results("p", "BenchmarkA", "ns/op", [1, 2, 3, 4]),
        results("p", "BenchmarkA", "ns/op", [11, 12, 13, 14]),
    )
    assert four.significant and four.p_value == pytest.approx(2 / 70)
    lopsided = only_row(
        results("p", "BenchmarkA", "ns/op", [1, 2, 3]),
        results("p", "BenchmarkA", "ns/op", [11.0 + i for i in range(10)]),
    )
    assert lopsided.significant and lopsided.note == ""


def test_geomean_over_benchmarks() -> None:
    old = results("p", "BenchmarkA", "ns/op", [100.0] * 5) + results(
        "p", "BenchmarkB", "ns/op", [1.0] * 5
    )
    new = results("p", "BenchmarkA", "ns/op", [400.0] * 5) + results(
        "p", "BenchmarkB", "ns/op", [1.0] * 5
    )
    (gm,) = compare(old, new).geomeans
    assert gm.unit == "ns/op" and gm.n == 2
    assert gm.old == pytest.approx(10.0)  # sqrt(100 * 1)
    assert gm.new == pytest.approx(20.0)  # sqrt(400 * 1)
    assert gm.delta_pct == pytest.approx(100.0)  # sqrt(4 * 1) = 2
    assert gm.note == ""


def test_geomean_with_zero_medians() -> None:
    # allocs/op of 0: no geomean of the medians, but 0 -> 0 counts as a ratio of 1.
    old = results("p", "BenchmarkA", "allocs/op", [0.0] * 5) + results(
        "p", "BenchmarkB", "allocs/op", [2.0] * 5
    )
    new = results("p", "BenchmarkA", "allocs/op", [0.0] * 5) + results(
        "p", "BenchmarkB", "allocs/op", [8.0] * 5
    )
    (gm,) = compare(old, new).geomeans
    assert gm.old is None and gm.new is None
    assert gm.delta_pct == pytest.approx(100.0)  # sqrt(1 * 4)
    assert "summaries must be >0" in gm.note


def test_only_in_old_and_only_in_new() -> None:
    old = parse(
        "pkg: p\n" + "BenchmarkKept 10 100 ns/op 8 B/op\n" * 5 + "BenchmarkGone 10 50 ns/op\n" * 5
    )
    new = parse(
        "pkg: p\n"
        + "BenchmarkKept 10 100 ns/op 3 MB/s\n" * 5
        + "BenchmarkAdded 10 70 ns/op\n" * 3
        + "pkg: q\n"
        + "BenchmarkGone 10 50 ns/op\n" * 5  # same name, other package: not the same benchmark
    )
    cmp = compare(old, new)
    assert [(r.pkg, r.name, r.unit) for r in cmp.rows] == [("p", "BenchmarkKept", "ns/op")]
    assert [(u.pkg, u.name, u.unit, u.median, u.n) for u in cmp.only_old] == [
        ("p", "BenchmarkKept", "B/op", 8.0, 5),
        ("p", "BenchmarkGone", "ns/op", 50.0, 5),
    ]
    assert [(u.pkg, u.name, u.unit, u.n) for u in cmp.only_new] == [
        ("p", "BenchmarkKept", "MB/s", 5),
        ("p", "BenchmarkAdded", "ns/op", 3),
        ("q", "BenchmarkGone", "ns/op", 5),
    ]
    (gm,) = cmp.geomeans
    assert gm.n == 1 and "left out" in gm.note
    table = format_table(cmp)
    assert "Added" in table and "Gone" in table and "pkg: q" in table


def test_format_table() -> None:
    old = results("example.com/a", "BenchmarkSlow-8", "ns/op", [100.0 + i for i in range(10)])
    old += results("example.com/a", "BenchmarkFew-8", "ns/op", [1.0, 2.0])
    new = results("example.com/a", "BenchmarkSlow-8", "ns/op", [200.0 + 2 * i for i in range(10)])
    new += results("example.com/a", "BenchmarkFew-8", "ns/op", [5.0, 6.0])
    table = format_table(compare(old, new), old_label="before", new_label="after")
    lines = table.splitlines()
    assert lines[0] == "pkg: example.com/a"
    assert re.match(r"sec/op\s+before\s+after\s+delta\s+p\s+n$", lines[2])
    assert re.match(r"Slow-8\s+104\.5n\s+209\.0n\s+\+100\.00%\s+0\.000\s+10$", lines[3])
    assert re.match(r"Few-8\s+1\.500n\s+5\.500n\s+~\s+0\.333\s+2\s+\(1\)$", lines[4])
    assert lines[5].startswith("geomean")
    assert lines[-1] == "(1) need >= 4 samples to detect a difference at alpha level 0.05"


def test_compare_rejects_bad_alpha() -> None:
    with pytest.raises(ValueError):
        compare([], [], alpha=0)


# --- benchstat ---------------------------------------------------------------------------


def test_run_benchstat_errors(tmp_path: Path) -> None:
    false = shutil.which("false")
    if false is not None:
        with pytest.raises(BenchstatError) as info:
            run_benchstat(tmp_path / "a", tmp_path / "b", executable=false)
        assert info.value.returncode == 1
    with pytest.raises(BenchstatError):
        run_benchstat(tmp_path / "a", tmp_path / "b", executable=str(tmp_path / "no-such-tool"))


def _parity_runs() -> tuple[list[BenchResult], list[BenchResult]]:
    rng = random.Random(11)
    old: list[BenchResult] = []
    new: list[BenchResult] = []

    def add(into: list[BenchResult], name: str, values: dict[str, float]) -> None:
        into.append(BenchResult("example.com/parity", name, 1000, values, {"goos": "linux"}))

    for _ in range(10):
        add(old, "BenchmarkSlower-2", {"ns/op": 1000 + rng.random() * 50, "B/op": 64})
        add(new, "BenchmarkSlower-2", {"ns/op": 2000 + rng.random() * 50, "B/op": 128})
        add(old, "BenchmarkNoise-2", {"ns/op": 500 + rng.random() * 50, "B/op": 64})
        add(new, "BenchmarkNoise-2", {"ns/op": 500 + rng.random() * 50, "B/op": 64})
        add(old, "BenchmarkSlight-2", {"ns/op": 300 + rng.random() * 10})
        add(new, "BenchmarkSlight-2", {"ns/op": 304 + rng.random() * 10})
    for i in range(6):  # a tie-heavy unit, old below new as in most regressions
        add(old, "BenchmarkTies-2", {"allocs/op": [3, 3, 3, 4, 4, 3][i]})
        add(new, "BenchmarkTies-2", {"allocs/op": [3, 4, 4, 4, 5, 4][i]})
    for i in range(3):
        add(old, "BenchmarkFew-2", {"ns/op": 10.0 + i})
        add(new, "BenchmarkFew-2", {"ns/op": 20.0 + i})
    return old, new


def test_verdicts_match_real_benchstat(tmp_path: Path) -> None:
    if shutil.which("benchstat") is None:
        pytest.skip("benchstat not installed")
    old, new = _parity_runs()
    write_file(tmp_path / "old.txt", old)
    write_file(tmp_path / "new.txt", new)
    out = run_benchstat(tmp_path / "old.txt", tmp_path / "new.txt", args=["-format", "csv"])

    # benchstat -format csv: per unit a header ",<unit>,CI,<unit>,CI,vs base,P", then rows
    # "name,old,CI,new,CI,delta,p=0.000 n=10"; it shows ns/op as sec/op.
    theirs: dict[tuple[str, str], tuple[str, str]] = {}
    unit = ""
    for cells in csv.reader(io.StringIO(out)):
        if len(cells) == 7 and cells[0] == "" and cells[5] == "vs base":
            unit = {"sec/op": "ns/op"}.get(cells[1], cells[1])
        elif len(cells) == 7 and cells[0] != "geomean" and cells[6]:
            theirs[(cells[0], unit)] = (cells[5], cells[6])

    ours = compare(old, new).rows
    assert len(theirs) == len(ours) == 7
    for row in ours:
        delta, pn = theirs[(row.name.removeprefix("Benchmark"), row.unit)]
        assert (delta == "~") == (not row.significant), (row, delta)
        m = re.fullmatch(r"(?:p=(\S+) )?n=\S+", pn)
        assert m is not None, pn
        # benchstat leaves p out when it is exactly 0.
        assert float(m.group(1) or 0) == pytest.approx(row.p_value, abs=5e-4), (row, pn)
        if row.significant and row.delta_pct is not None:
            assert delta == f"{row.delta_pct:+.2f}%"
