"""Go proxy settings that contradict each other, and GO* names Go does not know."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

PUBLIC_PROXIES = ("proxy.golang.org", "goproxy.io", "goproxy.cn", "proxy.golang.com.cn")
PUBLIC_SUMDBS = ("sum.golang.org", "sum.golang.google.cn")
# Read by the go command or the runtime but not listed by `go env -json`.
RUNTIME_NAMES = frozenset(
    {
        "GOGC", "GOMEMLIMIT", "GODEBUG", "GOMAXPROCS", "GOTRACEBACK", "GORACE", "GOCOVERDIR",
        "GOEXPERIMENT", "GOROOT_FINAL", "GOTMPDIR", "GOCACHEPROG", "GOAUTH", "GOFIPS140",
        "GOTELEMETRY", "GOTELEMETRYDIR", "GO386", "GOAMD64", "GOARM", "GOARM64", "GOMIPS",
        "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM", "GOBIN", "GOWORK", "GOEXE", "GOHOSTOS",
        "GOHOSTARCH", "GOTOOLDIR", "GOVERSION", "GOENV", "GOPATH", "GOROOT", "GOOS",
        "GOARCH", "GOFLAGS", "GOINSECURE", "GOMODCACHE", "GONOPROXY", "GONOSUMDB",
        "GOPRIVATE", "GOPROXY", "GOSUMDB", "GOTOOLCHAIN", "GOVCS", "GOCACHE", "GOGCCFLAGS",
        "GOMOD", "GOLANG_PROTOBUF_REGISTRATION_CONFLICT",
    }
)  # fmt: skip


def _glob_regex(glob: str) -> re.Pattern[str] | None:
    """Go's path.Match: * and ? never cross a /."""
    out, i = [], 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1 : end]
                body = "^" + body[1:] if body.startswith("^") else body
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error:
        return None  # Go's path.Match says ErrBadPattern: it matches nothing


def patterns(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def matches_prefix(globs: Iterable[str], target: str) -> bool:
    """module.MatchPrefixPatterns: a glob of n path elements matches target's first n."""
    parts = target.split("/")
    for glob in globs:
        size = len(glob.rstrip("/").split("/"))
        pattern = _glob_regex(glob.rstrip("/"))
        if size <= len(parts) and pattern and pattern.match("/".join(parts[:size])):
            return True
    return False


def _public(value: str, known: tuple[str, ...]) -> str | None:
    for word in re.split(r"[,|\s]+", value):
        host = re.sub(r"^[a-z]+://", "", word).split("/")[0].split("@")[-1]
        if host in known:
            return word
    return None


def proxy_findings(env_name: str, variables: Mapping[str, str]) -> list[str]:
    """Warnings: private module paths that would reach a public proxy or checksum database."""
    private = patterns(variables.get("GOPRIVATE", ""))
    noproxy_set = variables.get("GONOPROXY", "")
    nosumdb_set = variables.get("GONOSUMDB", "")
    # GOPRIVATE is only the default of the two; once set, they alone decide.
    noproxy = patterns(noproxy_set) if noproxy_set else private
    nosumdb = patterns(nosumdb_set) if nosumdb_set else private
    found = []
    proxy = _public(variables.get("GOPROXY", ""), PUBLIC_PROXIES)
    sumdb_value = variables.get("GOSUMDB", "") or "sum.golang.org"
    sumdb = None if sumdb_value == "off" else _public(sumdb_value, PUBLIC_SUMDBS)
    for pattern in private:
        if proxy and not matches_prefix(noproxy, pattern):
            found.append(
                f"env {env_name}: GOPRIVATE {pattern} is not in GONOPROXY ({noproxy_set}):"
                f" its module paths go to the public proxy {proxy}"
            )
        if sumdb and not matches_prefix(nosumdb, pattern):
            found.append(
                f"env {env_name}: GOPRIVATE {pattern} is not in GONOSUMDB ({nosumdb_set}):"
                f" its module paths are sent to the public checksum database {sumdb}"
            )
    if sumdb_value == "off" and proxy:
        found.append(
            f"env {env_name}: GOSUMDB=off with the public proxy {proxy}: public modules are"
            " not checked against the checksum database"
        )
    return found


# Domains reserved for examples (RFC 2606, RFC 6761): a proxy there is a placeholder that
# nothing answers, such as the shipped https://goproxy.corp.example.
_RESERVED = re.compile(r"(^|\.)(example|invalid|example\.(com|net|org))$")


def placeholder_proxies(goproxy: str) -> list[str]:
    """The entries of a GOPROXY list on a reserved example domain."""
    found = []
    for word in re.split(r"[,|]", goproxy):
        host = re.sub(r"^[a-z]+://", "", word.strip()).split("/")[0].split("@")[-1]
        if _RESERVED.search(host.split(":")[0]):
            found.append(word.strip())
    return found


def unknown_names(names: Iterable[str], known: Iterable[str]) -> list[tuple[str, str | None]]:
    """GO* names Go will ignore, each with the closest name it knows (GONOSUMCHECK ->
    GONOSUMDB). Names of other tools (GOOGLE_..., GOLANGCI_LINT_...) are left alone."""
    known_set = set(known) | RUNTIME_NAMES
    result = []
    for name in sorted(set(names)):
        if not re.fullmatch(r"GO[A-Z0-9_]+", name) or name in known_set:
            continue
        if "_" in name and name.replace("_", "") not in known_set:
            continue  # another tool's variable
        close = difflib.get_close_matches(name.replace("_", ""), sorted(known_set), n=1)
        result.append((name, close[0] if close else None))
    return result
