"""`go mod tidy -diff`'s pass remembered: lint asks go again only when something tidy reads
may have changed.

What `go mod tidy` decides from: the module's go.mod and go.sum; the imports of every
package in it, tests included, under every build tag (a Go file's header: its build
constraints, package clause and imports; which folders and files there are); what it
reads beyond the module (go.work and the modules it uses, every local `replace` target:
inputs.related_files, by content); the go and its `go env` answers (GOFLAGS, GOPROXY,
GOPRIVATE, GONOSUMDB, GOTOOLCHAIN, GOVERSION...); and the versioned modules of the module
cache, which never change under a version. The key holds all of them, read before go runs;
a pass is kept only if the key read again after it is the same (an edit while tidy ran is
not taken as tidy). A function body's edit changes none of it: tidy is not asked again.
Not with --force, not in a dry run, and any error reading the key means go is asked.
"""

from __future__ import annotations

import os

from invoke.context import Context

from gotasks import lookups
from gotasks.context import dry_run, settings_of, toolchain_of
from gotasks.core.digests import HashError
from gotasks.go.modules import Module

PASSED = "go mod tidy -diff passed"


def tidy_key(c: Context, mod: Module) -> str | None:
    """The key of everything tidy reads, now; None: do not remember (ask go)."""
    from gotasks import fresh
    from gotasks.go.inputs import related_files

    if dry_run(c) or fresh.forced(c):
        return None
    toolchain, _ = toolchain_of(c.config)
    cache = fresh.fresh_cache(c)
    try:
        return lookups.digest(
            "tidy",
            lookups.go_key(toolchain.go),
            str(mod.dir),
            fresh.go_env_answers(c),
            lookups.source_listing(mod.dir, cache),
            related_files(mod.dir, {**os.environ, **c.config.run.env}, cache),
        )
    except (HashError, OSError, ValueError):
        return None


def passed_before(c: Context, mod: Module, key: str | None) -> bool:
    """A pass of tidy -diff is remembered under this key."""
    if key is None:
        return False
    return lookups.recall(settings_of(c.config).root, _name(mod), key) == PASSED


def record_pass(c: Context, mod: Module, key: str | None) -> None:
    """tidy -diff passed under `key`: remembered if the key is still the same."""
    from gotasks import fresh

    if key is None or tidy_key(c, mod) != key:
        return
    root = settings_of(c.config).root
    lookups.remember(root, _name(mod), key, PASSED)
    fresh.fresh_cache(c).save()  # the headers read for the key: the next run reads fewer


def _name(mod: Module) -> str:
    return "tidy-" + lookups.digest(str(mod.dir))[:16]
