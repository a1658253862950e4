"""The bench gate's verdicts from samples: spread, inconclusive when noisy, regression only
when significant, slower past the threshold and tight; and go.mod tool resolution."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gotasks.go.benchcompare import compare
from gotasks.go.benchfmt import BenchResult
from gotasks.go.benchgate import format_verdicts, judge, spread_pct
from gotasks.go.gotools import golangci_config, parse_tools, resolve_tool, tool_name


def runs(*values: float, name: str = "BenchmarkWork-2") -> list[BenchResult]:
    return [BenchResult("example.com/x", name, 100, {"ns/op": v, "B/op": 0.0}) for v in values]


def outcome(old: list[float], new: list[float], fail_on: float | None) -> str:
    a, b = runs(*old), runs(*new)
    (verdict,) = judge(compare(a, b), a, b, fail_on)
    return verdict.outcome


def test_spread_is_the_iqr_relative_to_the_median() -> None:
    assert spread_pct([100.0] * 6) == 0.0
    assert spread_pct([100.0]) is None  # one sample measures no noise
    # Half the samples twice as slow: the quartiles straddle both halves.
    assert spread_pct([100, 100, 100, 200, 200, 200]) == pytest.approx(100 / 150 * 100)
    # One outlier of six does not move the quartiles.
    assert spread_pct([100, 101, 99, 100, 102, 300]) < 3


def test_a_tight_significant_slowdown_past_the_threshold_is_a_regression() -> None:
    old = [100, 101, 99, 100, 102, 98]
    new = [200, 202, 198, 201, 199, 200]
    assert outcome(old, new, 10) == "regression"
    assert outcome(old, new, None) == "slower"  # no threshold: reported, never failed
    assert outcome(old, new, 150) == "ok"  # slower, but within the threshold


def test_noise_larger_than_the_threshold_is_inconclusive_never_a_pass_or_regression() -> None:
    # The case: identical code on a loaded machine came out "+83% p=0.015".
    old = [100, 105, 98, 180, 102, 99]
    new = [190, 170, 210, 101, 185, 200]
    assert outcome(old, new, 10) == "inconclusive"
    # Noise also hides a real-looking improvement or no change: still inconclusive.
    assert outcome(new, old, 10) == "inconclusive"
    assert outcome([100, 150, 100, 150], [100, 150, 100, 150], 10) == "inconclusive"
    # One sample a side: noise unmeasured, so nothing can be concluded.
    assert outcome([100], [300], 10) == "inconclusive"


def test_not_significant_is_not_a_regression() -> None:
    assert outcome([100, 102, 101, 99], [101, 100, 103, 100], 10) == "ok"
    # Too few samples to be significant (n=2 can never reach p<=0.05), however slower.
    assert outcome([100, 101], [200, 201], 10) == "ok"


def test_only_time_per_op_is_judged_and_each_line_shows_both_spreads() -> None:
    a, b = runs(100, 101, 99, 100), runs(200, 201, 199, 200)
    verdicts = judge(compare(a, b), a, b, 10)
    assert [v.unit for v in verdicts] == ["ns/op"]
    (line,) = format_verdicts(verdicts)
    assert line.startswith("Work-2") and "+100.00%" in line and "regression" in line
    assert line.count("spread ±") == 1 and " / ±" in line


def test_tool_names_and_go_mod_edit_json() -> None:
    assert tool_name("golang.org/x/perf/cmd/benchstat") == "benchstat"
    assert tool_name("github.com/golangci/golangci-lint/v2/cmd/golangci-lint") == "golangci-lint"
    assert tool_name("example.com/tool/v3") == "tool"
    edit = {"Module": {"Path": "x"}, "Tool": [{"Path": "golang.org/x/perf/cmd/benchstat"}]}
    assert parse_tools(json.dumps(edit)) == ["golang.org/x/perf/cmd/benchstat"]
    assert parse_tools(json.dumps({"Module": {"Path": "x"}, "Tool": None})) == []


def test_a_declared_tool_wins_over_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = tmp_path / "benchstat"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    go = Path("/usr/local/go/bin/go")
    declared = resolve_tool("benchstat", ["golang.org/x/perf/cmd/benchstat"], go)
    assert declared is not None and declared.argv == (
        str(go),
        "tool",
        "golang.org/x/perf/cmd/benchstat",
    )
    from_path = resolve_tool("benchstat", ["example.com/other"], go)
    assert from_path is not None and from_path.argv == (str(on_path),)
    monkeypatch.setenv("PATH", os.devnull)
    assert resolve_tool("benchstat", [], go) is None


def test_golangci_config_is_found_from_the_module_up_to_the_root(tmp_path: Path) -> None:
    module = tmp_path / "svc" / "a"
    module.mkdir(parents=True)
    assert golangci_config(module, tmp_path) is None
    (tmp_path / ".golangci.yml").write_text("version: 2\n")
    assert golangci_config(module, tmp_path) == (tmp_path / ".golangci.yml").resolve()
    (module / ".golangci.yaml").write_text("version: 2\n")
    assert golangci_config(module, tmp_path) == (module / ".golangci.yaml").resolve()
    # Above the project root is not the project's.
    assert golangci_config(module, module) == (module / ".golangci.yaml").resolve()
    assert golangci_config(tmp_path / "svc", tmp_path / "svc") is None
