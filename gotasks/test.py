"""`inv test`: go test -json on every module, parsed into a short report (and JUnit XML)."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context

from gotasks.context import dry_run, go, module_of, settings_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.files import atomic_write_text, naming
from gotasks.engine import task
from gotasks.go.testflags import TEST_HELP
from gotasks.gobuild import relative_package
from gotasks.paths import state_dir

if TYPE_CHECKING:
    from gotasks import fresh
    from gotasks.engine.freshness import Entry, UpToDate
    from gotasks.go.modules import Module
    from gotasks.go.testjson import TestRun

_COLORS = {"pass": "green", "fail": "red", "skip": "yellow"}
# One JUnit file may collect several modules' runs; package names keep them apart.
_junit_lock = threading.Lock()
_junit_lines: dict[Path, list[str]] = {}


class _Feed:
    """A stream invoke writes go's stdout into, line by line into a TestRun."""

    def __init__(self, run: TestRun, keep: list[str] | None) -> None:
        # keep: the raw lines, only when a JUnit file will be written from them
        self.run, self.keep = run, keep
        self.partial: list[str] = []  # the line being read, joined once its newline comes

    def write(self, text: str) -> int:
        if "\n" not in text:
            self.partial.append(text)
            return len(text)
        lines = ("".join(self.partial) + text).split("\n")
        last = lines.pop()
        self.partial = [last] if last else []
        for line in lines:
            if self.keep is not None:
                self.keep.append(line)
            self.run.feed(line)
        return len(text)

    def flush(self) -> None:
        """invoke flushes after every chunk it reads; a chunk may end inside a line."""

    def close(self) -> None:
        """Feed the last line once go has exited, even without its newline."""
        if self.partial:
            self.write("\n")


# The flags of `inv test`, also taken by `inv ci` for its test task (help text by name).
_PATTERNS = re.compile(r"[\s,]+")
_COUNT = re.compile(r"^--?(test\.)?count(=|$)")


@task(dry=True, cpu=2, mem="2G", pool="test", each="module", help=TEST_HELP)
def test(
    c: Context,
    race: bool = False,
    cover: bool = False,
    html: bool = False,
    run: str | None = None,
    count: int = 0,
    short: bool = False,
    failfast: bool = False,
    verbose: bool = False,
    packages: str | None = None,
    junit: str | None = None,
    module: str | None = None,
) -> UpToDate | None:
    """Run go test -json; report per package and show only the failing tests' output.

    Words after `--` go to go test as they are (inv test -- -shuffle=on)."""
    from gotasks.engine.remainder import remainder_args
    from gotasks.engine.sharding import current_shard, record_durations
    from gotasks.engine.shards import shard_path
    from gotasks.go.inputs import variables_for_test

    assert module is not None
    if count < 0:
        raise UsageError(f"--count must be 1 or more, got {count}")
    patterns = package_patterns(packages)
    if packages is not None and not patterns:
        raise UsageError("--packages: no package pattern given (e.g. --packages ./pkg/...)")
    mod = module_of(c, module)
    settings = settings_of(c.config)
    config = settings.section("test")
    shard = current_shard(c.config)
    junit = shard_path(junit, shard) if junit else None
    args = ["test", "-json", "-timeout", config["timeout"], "-p", str(_parallel_packages(c))]
    race = race or config["race"]
    if race:
        args.append("-race")
    profile = None
    if cover or html or config["cover"]:
        # Each shard's profile its own (hello.shard-2-of-4.out): inv shard.merge joins them.
        profile = state_dir(settings.root) / "cover" / shard_path(f"{mod.name}.out", shard)
        if not dry_run(c):
            profile.parent.mkdir(parents=True, exist_ok=True)
        # -race needs atomic counters; go refuses -race with -covermode=set
        args += ["-covermode=atomic" if race else "-covermode=set", f"-coverprofile={profile}"]
    if run:
        args += ["-run", run]
    if count:
        args += ["-count", str(count)]
    args += ["-short"] * short + ["-failfast"] * failfast
    # After the packages, as `go test ./... -run X` is typed: an `-args` there keeps its
    # meaning (everything after it is the test binary's).
    args += [*config["args"], *(patterns or config["packages"]), *remainder_args(c)]
    flags = {"go test": args, "junit": junit, "html": html, "verbose": verbose}
    from gotasks import fresh

    check = fresh.start(
        c,
        "test",
        mod,
        flags,
        lambda: {"variables": variables_for_test(os.environ)},
        replay=lambda check, entry: _replay(c, mod, check, entry, junit, profile, html),
        # -count asks go to run the tests again rather than trust its cache: so do we.
        enabled=not any(_COUNT.match(word) for word in args),
    )
    if check.result is not None:
        return check.result
    # go test's output parser loads when tests run (not for an up-to-date check).
    from gotasks.go.testjson import TestRun

    result_run, lines = TestRun(echo=_stream if verbose else None), list[str]()
    feed = _Feed(result_run, lines if junit else None)
    result = go(c, args, mod.dir, hide="err", out_stream=feed)
    if dry_run(c):
        return None  # nothing ran: nothing to report
    feed.close()
    result_run.finish()
    record_durations(c.config, _package_durations(mod, result_run))
    _report(result_run, result.stderr if result.exited != 0 else "")
    if junit:
        _write_junit(Path(junit), lines)
    if profile is not None and profile.exists():
        _report_coverage(c, mod, profile, html)
    if result.exited != 0 and not result_run.packages:
        said = (result.stderr.strip().splitlines() or [f"exit {result.exited}"])[-1]
        raise TaskFailed(f"test {mod.label}: go test failed before any package ran: {said}")
    if result.exited != 0 or result_run.failed:
        failed = [p for p in result_run.packages if p.failed]
        raise TaskFailed(
            f"test {mod.label}: {len(failed)} of {len(result_run.packages)} packages failed"
            f" ({result_run.counts.describe()})"
        )
    stored = {"junit": "\n".join(lines).encode()} if junit else {}
    if profile is not None and profile.exists():
        stored["cover"] = profile.read_bytes()
    check.done(stored=stored)
    return None


def _replay(
    c: Context,
    mod: Module,
    check: fresh.Check,
    entry: Entry,
    junit: str | None,
    profile: Path | None,
    html: bool,
) -> bool:
    """An up-to-date test still writes what was asked of it, from the copies its success
    kept: the JUnit lines, the coverage profile (and its report). A copy gone: it reruns."""
    lines = check.stored(entry, "junit") if junit else b""
    cover = check.stored(entry, "cover") if profile is not None else b""
    if lines is None or cover is None:
        return False
    if junit:
        _write_junit(Path(junit), lines.decode("utf-8", "surrogateescape").split("\n"))
    if profile is not None:
        atomic_write_text(profile, cover.decode("utf-8", "surrogateescape"))
        _report_coverage(c, mod, profile, html)
    return True


def package_patterns(packages: str | None) -> list[str]:
    """--packages: patterns separated by spaces or commas."""
    return [p for p in _PATTERNS.split(packages or "") if p]


def _stream(text: str) -> None:
    """--verbose: go's output as it comes (print, so a task's block collects it in a run)."""
    print(text, end="", flush=True)


def test_unit(mod: Module, import_path: str) -> str:
    """A package's unit for --shard, and its durations' name in history: test[hello] ./stats."""
    return f"test[{mod.label}] {relative_package(import_path, mod.path)}"


def _package_durations(mod: Module, run: TestRun) -> dict[str, float]:
    """What each package's tests took, for --shard's costs; a cached result took nothing
    now and says nothing of what a run costs, and a package that did not build ran nothing."""
    from gotasks.go.testresults import Status

    return {
        test_unit(mod, p.name): p.elapsed
        for p in run.packages
        if not p.cached and p.status in (Status.PASS, Status.FAIL, Status.SKIP)
    }


def _parallel_packages(c: Context) -> int:
    """go test -p: as many packages at once as the test task claims cores."""
    return max(1, int(test.claims.cpu))


def _report(run: TestRun, stderr: str) -> None:
    from gotasks.go.testsummary import summary_lines

    shown = set()
    for line in summary_lines(run):
        color = _COLORS.get(line.kind)
        console.info(console.paint(line.text, color) if color else line.text)
        shown.update(line.text.splitlines())
    if stderr.strip() and not any(p.failed for p in run.packages):
        # go refused to start (a bad flag, a broken go.mod): its own words are the report,
        # once (go -json may already have passed them on as output)
        rest = [line for line in stderr.rstrip().splitlines() if line not in shown]
        if rest:
            console.info("\n".join(rest))


def _write_junit(path: Path, lines: list[str]) -> None:
    from gotasks.go.junit import write_junit
    from gotasks.go.testjson import TestRun

    with _junit_lock:
        collected = _junit_lines.setdefault(path.resolve(), [])
        collected.extend(lines)
        merged = TestRun()
        merged.feed_lines(collected)
        merged.finish()
        with naming(path):  # a full disk names the report, not just the error
            write_junit(merged, path)
    console.info(f"JUnit XML: {path}")


def _report_coverage(c: Context, mod: Module, profile: Path, html: bool) -> None:
    result = go(c, ["tool", "cover", f"-func={profile}"], mod.dir)
    total = [line for line in result.stdout.splitlines() if line.startswith("total:")]
    if total:
        percent = total[-1].split()[-1]
        console.info(f"coverage: {percent} of statements ({mod.label}; profile {profile})")
    if html:
        page = profile.with_suffix(".html")
        go(c, ["tool", "cover", f"-html={profile}", "-o", str(page)], mod.dir, check=True)
        console.info(f"coverage HTML: {page}")
