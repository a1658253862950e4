"""benchmarks/setup.py's figures: medians of each step's two sides, and the stage by stage
view: what `inv setup` printed, read back into seconds, set beside the hand-made step that
does the same work.

`inv setup` prints a line per stage (setupledger.say: `  modules yq     5.4s  ...`) and the
SDK installer a line per step of the install (`  extract      36695 ms  15036 files`); the
end says `setup: done in 43.4s`. What the run took beyond that is the run itself: Python,
invoke and gotasks starting, the config, planning, the summary.
"""

from __future__ import annotations

import re
import statistics
from typing import Any

# One side of one step: wall seconds, CPU seconds of its processes, seconds by stage.
Figure = dict[str, Any]

# The installer's steps (gotasks/go/sdk/install.py, Installer.stage): milliseconds.
_INSTALL_STEP = re.compile(
    r"^  (resolve|download|verify|extract|smoke-test|wait|activate) +(\d+) ms\b", re.M
)
# setup's stages (gotasks/setupledger.py, say): a duration as format_duration writes it.
_STAGE = re.compile(
    r"^  (go|bundle|bundle check|modules \S+|tools \S+|hook|doctor|export) +"
    r"(\d+ms|\d+\.\ds|\d+m\d\ds)  ",
    re.M,
)
_DONE = re.compile(r"^setup: done in (\d+ms|\d+\.\ds|\d+m\d\ds);", re.M)


# The three steps' names in the README's table.
STEP_LABELS = {
    "a": "(a) online",
    "b": "(b) from a bundle, no network",
    "c": "(c) ready machine / `inv --list`",
}


def seconds_of(text: str) -> float:
    """format_duration's `850ms`, `12.3s`, `2m05s` back into seconds."""
    if text.endswith("ms"):
        return int(text[:-2]) / 1000
    if "m" in text:
        minutes, secs = text.rstrip("s").split("m")
        return int(minutes) * 60 + int(secs)
    return float(text.rstrip("s"))


def stages_of(output: str, wall: float) -> dict[str, float]:
    """Seconds by stage of one `inv setup` (see STAGES for the names), from what it printed."""
    steps: dict[str, float] = {}
    for name, ms in _INSTALL_STEP.findall(output):
        steps[name] = steps.get(name, 0.0) + int(ms) / 1000
    stages: dict[str, float] = {}
    for name, duration in _STAGE.findall(output):
        key = name.split()[0] if name.startswith(("modules ", "tools ")) else name
        stages[key] = stages.get(key, 0.0) + seconds_of(duration)
    done = _DONE.search(output)
    total = seconds_of(done.group(1)) if done else wall
    return {
        "bundle": stages.get("bundle", 0.0),
        "sdk download": steps.get("download", 0.0) + steps.get("verify", 0.0),
        "sdk extract": steps.get("extract", 0.0),
        "sdk rest": sum(steps.get(k, 0.0) for k in ("resolve", "smoke-test", "activate")),
        "module checks": steps.get("wait", 0.0) + stages.get("bundle check", 0.0),
        "modules": stages.get("modules", 0.0),
        "tools": stages.get("tools", 0.0),
        "hook": stages.get("hook", 0.0),
        "doctor": stages.get("doctor", 0.0),
        "the run around them": max(0.0, wall - total),
    }


# Each row: the label, the stage of `inv setup`, the hand-made step (None: it has none).
STAGES = {
    "a": [
        ("SDK download + SHA-256", "sdk download", "sdk download"),
        ("SDK extraction", "sdk extract", "sdk extract"),
        ("SDK resolve, smoke-test, activate", "sdk rest", None),
        ("go mod download", "modules", "modules"),
        ("tools", "tools", None),
        ("git hook (beside the SDK)", "hook", None),
        ("doctor", "doctor", None),
        ("start-up, planning, summary", "the run around them", None),
    ],
    "b": [
        ("bundle unpack + SDK SHA-256", "bundle", "bundle"),
        ("SDK extraction", "sdk extract", "sdk extract"),
        ("SDK resolve, smoke-test, activate", "sdk rest", None),
        ("module files vs go.sum (waited)", "module checks", None),
        ("go mod download", "modules", "modules"),
        ("tools", "tools", None),
        ("git hook (beside the SDK)", "hook", None),
        ("doctor", "doctor", None),
        ("start-up, planning, summary", "the run around them", None),
    ],
}


def brief(figures: dict[str, Figure]) -> str:
    return ", ".join(f"{k} {v['wall']:.2f}s" for k, v in figures.items())


def summary(taken: list[dict[str, Figure]]) -> dict[str, Any]:
    """Medians: each step's two sides (wall, CPU, ratio) and stage by stage."""

    def med(key: str, what: str) -> float:
        return statistics.median(float(r[key][what]) for r in taken)

    def stage(key: str, name: str | None) -> float | None:
        if name is None:
            return None
        return statistics.median(float(r[key]["stages"].get(name, 0.0)) for r in taken)

    steps = {}
    for step, mine, theirs in (("a", "a", "a_hand"), ("b", "b", "b_hand"), ("c", "c", "startup")):
        steps[step] = {
            "inv_setup_s": round(med(mine, "wall"), 2),
            "by_hand_s": round(med(theirs, "wall"), 2),
            "ratio": round(med(mine, "wall") / med(theirs, "wall"), 2),
            "inv_setup_cpu_s": round(med(mine, "cpu"), 2),
            "by_hand_cpu_s": round(med(theirs, "cpu"), 2),
        }
    stages = {
        step: [
            [label, stage(step, ours), stage(f"{step}_hand", theirs)]
            for label, ours, theirs in rows
        ]
        for step, rows in STAGES.items()
    }
    return {"steps": steps, "stages": stages}


def print_table(doc: dict[str, Any]) -> None:
    print(
        f"{doc['date']}: {doc['rounds']} rounds, medians; load average before"
        f" {doc['load_before']:.1f}, after {doc['load_after']:.1f} on {doc['cpus']} CPUs;"
        f" SDK inflated by {doc['inflater']}"
    )
    head = f"{'subject':<8} {'step':<30} {'inv setup':>10} {'by hand':>10} {'ratio':>6}"
    print(f"{head} {'CPU: inv setup':>15} {'by hand':>8}")
    labels = {**STEP_LABELS, "c": "(c) ready machine / start-up"}
    for subject, result in doc["subjects"].items():
        for step, f in result["steps"].items():
            print(
                f"{subject:<8} {labels[step]:<30} {f['inv_setup_s']:>9.2f}s {f['by_hand_s']:>9.2f}s"
                f" {f['ratio']:>6.2f} {f['inv_setup_cpu_s']:>14.2f}s {f['by_hand_cpu_s']:>7.2f}s"
            )
        ci = result["ci"]
        if ci:
            green = "green" if ci["status"] == 0 else f"FAILED: exit {ci['status']}"
            print(f"{subject:<8} {'inv ci after (b), offline':<30} {ci['wall']:>9.2f}s   ({green})")
        start, end = result["load"]
        print(f"{subject:<8} load average {start:.1f} at its start, {end:.1f} at its end")
    for subject, result in doc["subjects"].items():
        for step, rows in result["stages"].items():
            print(f"\n{subject} ({step}) stage by stage {'inv setup':>22} {'by hand':>10}")
            for label, ours, theirs in rows:
                hand = f"{theirs:>9.2f}s" if theirs is not None else f"{'-':>10}"
                print(f"  {label:<36} {ours:>9.2f}s {hand}")


def print_markdown(doc: dict[str, Any]) -> None:
    """The README's tables (Setting up a machine): each subject's steps, then its stages."""
    labels = STEP_LABELS
    print(
        f"{doc['date']}, {doc['rounds']} rounds (medians), load {doc['load_before']:.1f}"
        f" before, {doc['load_after']:.1f} after, {doc['cpus']} CPUs; SDK inflated by"
        f" {doc['inflater']}\n"
    )
    print("| subject | step | `inv setup` | by hand | ratio | CPU: `inv setup` | by hand |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for subject, result in doc["subjects"].items():
        for step, f in result["steps"].items():
            print(
                f"| {subject} | {labels[step]} | {f['inv_setup_s']:.2f} s | {f['by_hand_s']:.2f} s"
                f" | {f['ratio']:.2f} | {f['inv_setup_cpu_s']:.2f} s | {f['by_hand_cpu_s']:.2f} s |"
            )
        ci = result["ci"]
        if ci:
            green = "green" if ci["status"] == 0 else f"failed, exit {ci['status']}"
            ci_row = f"`inv ci` after (b), offline | {ci['wall']:.1f} s ({green})"
            print(f"| {subject} | {ci_row} | | | | |")
    for subject, result in doc["subjects"].items():
        rows_a, rows_b = result["stages"]["a"], result["stages"]["b"]
        print(f"\n| {subject}: stage | (a) `inv setup` | by hand | (b) `inv setup` | by hand |")
        print("| --- | --- | --- | --- | --- |")
        # (b)'s order, with (a)'s download after (b)'s unpack: what each does first.
        only_a = [label for label, _, _ in rows_a if label not in {r[0] for r in rows_b}]
        order = [rows_b[0][0], *only_a, *(label for label, _, _ in rows_b[1:])]
        by_label: dict[str, list[str]] = {label: ["", "", "", ""] for label in order}
        for column, rows in ((0, rows_a), (2, rows_b)):
            for label, ours, theirs in rows:
                cells = by_label[label]
                cells[column] = f"{ours:.2f} s"
                cells[column + 1] = f"{theirs:.2f} s" if theirs is not None else ""
        for label, cells in by_label.items():
            print(f"| {label} | {' | '.join(cells)} |")
