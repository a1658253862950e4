"""`inv shard.plan` (one plan every CI shard agrees on) and `inv shard.merge` (the shards'
JUnit files and coverage profiles joined, with each shard's wall time)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import Call

from gotasks.context import settings_of
from gotasks.core import console
from gotasks.core.errors import TaskFailed, UsageError
from gotasks.core.files import atomic_write_text, naming, read_regular_text
from gotasks.core.units import format_duration
from gotasks.engine import task
from gotasks.engine.run import dimension_values
from gotasks.paths import state_dir
from gotasks.shardunits import SPLITTABLE

if TYPE_CHECKING:
    from gotasks.go.junitmerge import Totals

_WORDS = re.compile(r"[\s,]+")


@task(
    cpu=0.5,
    mem="256M",
    help={
        "shards": "how many shards (CI jobs) to split the work into",
        "tasks": "the tasks whose units to plan, comma-separated (default: lint,test,build,"
        " what ci runs)",
        "module": "only this module's units (its folder or module path); default: every module",
        "github_matrix": 'print a GitHub Actions matrix ({"include": [...]}) instead of the plan',
    },
)
def plan(
    c: Context,
    shards: int = 0,
    tasks: str = "lint,test,build",
    module: str | None = None,
    github_matrix: bool = False,
) -> None:
    """Print the shard plan (JSON) from this history: inv shard.plan --shards 4 > plan.json.

    Each shard then runs `inv ci --shard I/4 --shard-plan plan.json`."""
    from gotasks.engine.graph import expand
    from gotasks.engine.sharding import graph_units, unit_durations
    from gotasks.engine.shards import costed, plan_json, split
    from gotasks.engine.shards import github_matrix as matrix_json

    if shards < 1:
        raise UsageError("shard.plan: --shards must be 1 or more (e.g. --shards 4)")
    names = [n for n in _WORDS.split(tasks) if n]
    unknown = [n for n in names if n not in SPLITTABLE]
    if unknown or not names:
        raise UsageError(
            f"shard.plan --tasks: {', '.join(unknown) or 'none given'}: the tasks that split"
            f" are {', '.join(SPLITTABLE)}"
        )
    kwargs = {"module": module} if module else {}
    calls = [Call(SPLITTABLE[n], kwargs=dict(kwargs)) for n in dict.fromkeys(names)]
    nodes = expand(calls, lambda dim: dimension_values(dim, c.config), {})
    units = [name for found in graph_units(nodes, c.config).values() for name, _ in found]
    planned = split(costed(units, unit_durations(c.config)), shards)
    # stdout is the plan (> plan.json); what a person reads goes to stderr.
    sys.stdout.write(matrix_json(planned) if github_matrix else plan_json(planned))
    sys.stdout.flush()
    expected = [planned.expected(i) for i in range(1, shards + 1)]
    learned = sum(u.known for i in range(1, shards + 1) for u in planned.units(i))
    print(
        f"shard plan: {len(units)} units ({learned} with learned durations) over {shards}"
        f" shards; expected {', '.join(map(format_duration, expected))};"
        f" imbalance {planned.imbalance():.2f}",
        file=sys.stderr,
    )


@dataclass
class _Shard:
    name: str
    junit: list[Path] = field(default_factory=list)
    profiles: list[Path] = field(default_factory=list)
    wall: float | None = None
    totals: Totals = field(default_factory=lambda: _no_totals())


def _no_totals() -> Totals:
    # JUnit merging loads with shard.merge, not with the namespace.
    from gotasks.go.junitmerge import Totals

    return Totals()


@task(
    cpu=0.5,
    mem="512M",
    positional=["dirs"],
    help={
        "dirs": "the shards' artifact folders, separated by commas (more after --); each"
        " shard's files carry shard-I-of-N in their names, else its folder is the shard",
        "junit": "write the merged JUnit XML here (default .gotasks/merged/junit.xml)",
        "coverprofile": "write the merged coverage profile here (default"
        " .gotasks/merged/cover.out)",
    },
)
def merge(
    c: Context, dirs: str | None = None, junit: str | None = None, coverprofile: str | None = None
) -> None:
    """Merge the shards' JUnit files and Go coverage profiles; print the totals, each
    shard's wall time (from its trace) and the imbalance (max/mean)."""
    from gotasks.engine.remainder import remainder_args
    from gotasks.engine.shards import imbalance
    from gotasks.go import junitmerge
    from gotasks.go.covermerge import merge_files
    from gotasks.go.junit import write_element

    folders = [Path(d) for d in [*_WORDS.split(dirs or ""), *remainder_args(c)] if d]
    if not folders:
        raise UsageError("shard.merge: name the shards' folders: inv shard.merge DIR[,DIR...]")
    for folder in folders:
        if not folder.is_dir():
            raise UsageError(f"shard.merge: {folder} is not a folder")
    shards = _collect(folders)
    if not any(s.junit or s.profiles for s in shards.values()):
        raise UsageError(
            "shard.merge: no JUnit file (*.xml) or coverage profile in "
            + ", ".join(map(str, folders))
        )
    root = settings_of(c.config).root
    merged_dir = state_dir(root) / "merged"
    suites = []
    for shard in shards.values():
        for path in shard.junit:
            found = junitmerge.read_suites(path)
            shard.totals += sum(map(junitmerge.suite_totals, found), junitmerge.Totals())
            suites += found
    for key in sorted(shards, key=_order):
        shard = shards[key]
        wall = format_duration(shard.wall) if shard.wall is not None else "- (no trace)"
        console.info(f"shard {key}: {shard.totals.describe()}; wall time {wall}")
    failed = []
    if suites:
        target = Path(junit) if junit else merged_dir / "junit.xml"
        with naming(target):
            write_element(junitmerge.merge(suites), target)
        total = sum((s.totals for s in shards.values()), junitmerge.Totals())
        console.info(f"merged JUnit: {len(suites)} packages, {total.describe()} -> {target}")
        failed = junitmerge.failed_cases(suites)
        for case in failed:
            console.fail(case)
    profiles = [p for s in shards.values() for p in s.profiles]
    profile = merge_files(profiles)
    if profile is not None:
        target = Path(coverprofile) if coverprofile else merged_dir / "cover.out"
        with naming(target):
            atomic_write_text(target, profile.text())
        covered, statements = profile.statements()
        percent = 100 * covered / statements if statements else 0.0
        console.info(
            f"merged coverage: {percent:.1f}% of statements ({covered} of {statements};"
            f" {len(profiles)} profiles) -> {target}"
        )
    walls = [s.wall for s in shards.values() if s.wall is not None]
    if walls:
        mean = sum(walls) / len(walls)
        console.info(
            f"wall time: max {format_duration(max(walls))}, mean {format_duration(mean)};"
            f" imbalance (max/mean) {imbalance(walls):.2f}"
        )
    if failed:
        raise TaskFailed(f"shard.merge: {len(failed)} failed test(s) across the shards")


def _order(key: str) -> tuple[int, str]:
    from gotasks.engine.shards import ShardSpec

    try:
        return (ShardSpec.parse(key).index, key)
    except UsageError:
        return (0, key)  # a folder


def _collect(folders: list[Path]) -> dict[str, _Shard]:
    """The shards' files by shard: the shard-I-of-N in a name, else the file's folder."""
    from gotasks.engine.shards import shard_in_name
    from gotasks.go.covermerge import is_profile

    shards: dict[str, _Shard] = {}
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            spec = shard_in_name(path.name)
            key = str(spec) if spec else str(path.parent)
            shard = shards.setdefault(key, _Shard(key))
            if path.suffix == ".xml":
                shard.junit.append(path)
            elif is_profile(path):
                shard.profiles.append(path)
            elif path.suffix == ".json":
                wall = _trace_wall(path)
                if wall is not None:
                    shard.wall = max(wall, shard.wall or 0.0)
    return {k: v for k, v in shards.items() if v.junit or v.profiles or v.wall is not None}


def _trace_wall(path: Path) -> float | None:
    from gotasks.engine.trace import wall_seconds

    try:
        return wall_seconds(json.loads(read_regular_text(path)))
    except (OSError, ValueError, RecursionError):
        return None  # some other JSON file among the artifacts


def collection() -> Collection:
    shards = Collection("shard")
    shards.add_task(plan)
    shards.add_task(merge)
    return shards
