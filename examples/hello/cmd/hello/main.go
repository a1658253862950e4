// Command hello prints a greeting, or its build information with `hello version`.
package main

import (
	"fmt"
	"io"
	"os"

	"example.com/hello/greet"
	"example.com/hello/internal/buildinfo"
)

// Set by the linker, e.g. -ldflags "-X main.version=v1.2.3 -X main.dirty=true".
// Empty values fall back to the build info embedded by the Go toolchain.
var (
	version    = ""
	commit     = ""
	commitDate = ""
	dirty      = ""
	goVersion  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stdout, greet.Hello())
		return 0
	}
	switch args[0] {
	case "version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "hello: version takes no arguments\n")
			return 2
		}
		ld := buildinfo.LDFlags{
			Version:    version,
			Commit:     commit,
			CommitDate: commitDate,
			Dirty:      dirty,
			GoVersion:  goVersion,
		}
		if err := buildinfo.Read(ld, greet.Edition).Write(stdout); err != nil {
			fmt.Fprintf(stderr, "hello: %v\n", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "hello: unknown command %q\nusage: hello [version]\n", args[0])
		return 2
	}
}
