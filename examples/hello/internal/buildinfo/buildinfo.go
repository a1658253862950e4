// Package buildinfo resolves the version information printed by
// `hello version`.
//
// Values injected with the linker (-ldflags "-X main.version=...") win; empty
// ones fall back to what the Go toolchain embedded in the binary
// (runtime/debug.ReadBuildInfo), and anything still unknown prints as Unknown.
package buildinfo

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Unknown is printed for any value that could not be determined.
const Unknown = "unknown"

// LDFlags holds the package-main variables that the linker may set.
type LDFlags struct {
	Version    string
	Commit     string
	CommitDate string
	Dirty      string
	GoVersion  string
}

// Info is the resolved version information.
type Info struct {
	Version    string
	Commit     string
	CommitDate string
	Dirty      string
	GoVersion  string
	Edition    string
}

// Resolve merges ld with bi (which may be nil, e.g. when ReadBuildInfo fails).
// Order per field: linker value, then build info, then Unknown. The Go version
// falls back to runtime.Version() before Unknown.
func Resolve(ld LDFlags, bi *debug.BuildInfo, edition string) Info {
	var settings map[string]string
	var mainVersion, biGoVersion string
	if bi != nil {
		settings = make(map[string]string, len(bi.Settings))
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if v := bi.Main.Version; v != "(devel)" {
			mainVersion = v
		}
		biGoVersion = bi.GoVersion
	}
	return Info{
		Version:    first(ld.Version, mainVersion, Unknown),
		Commit:     first(ld.Commit, settings["vcs.revision"], Unknown),
		CommitDate: first(ld.CommitDate, settings["vcs.time"], Unknown),
		Dirty:      first(ld.Dirty, settings["vcs.modified"], Unknown),
		GoVersion:  first(ld.GoVersion, biGoVersion, runtime.Version(), Unknown),
		Edition:    first(edition, Unknown),
	}
}

// Read is Resolve with the running binary's own build info.
func Read(ld LDFlags, edition string) Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return Resolve(ld, bi, edition)
}

// Lines returns the "key: value" lines printed by `hello version`, in order.
func (i Info) Lines() []string {
	return []string{
		"version: " + i.Version,
		"commit: " + i.Commit,
		"commit date: " + i.CommitDate,
		"dirty: " + i.Dirty,
		"go: " + i.GoVersion,
		"edition: " + i.Edition,
	}
}

// Write prints Lines to w, one per line.
func (i Info) Write(w io.Writer) error {
	for _, l := range i.Lines() {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
