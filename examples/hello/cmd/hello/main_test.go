package main

import (
	"bytes"
	"strings"
	"testing"

	"example.com/hello/greet"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring expected on stdout ("" means stdout must be empty)
		wantErrOut string // substring expected on stderr ("" means stderr must be empty)
	}{
		{"no args greets", nil, 0, "Hello, World!\n", ""},
		{"version", []string{"version"}, 0, "edition: " + greet.Edition + "\n", ""},
		{"version extra arg", []string{"version", "x"}, 2, "", "no arguments"},
		{"unknown command", []string{"bogus"}, 2, "", `unknown command "bogus"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, &out, &errOut)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", code, tt.wantCode)
			}
			check(t, "stdout", out.String(), tt.wantOut)
			check(t, "stderr", errOut.String(), tt.wantErrOut)
		})
	}
}

func check(t *testing.T, stream, got, want string) {
	t.Helper()
	if want == "" && got != "" {
		t.Errorf("%s = %q, want empty", stream, got)
	}
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", stream, got, want)
	}
}

func TestVersionKeys(t *testing.T) {
	commit = "abc123" // simulate -ldflags "-X main.commit=abc123"
	defer func() { commit = "" }()
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, &out); code != 0 {
		t.Fatalf("exit code = %d, output %q", code, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	keys := []string{"version", "commit", "commit date", "dirty", "go", "edition"}
	if len(lines) != len(keys) {
		t.Fatalf("got %d lines, want %d: %q", len(lines), len(keys), lines)
	}
	for i, key := range keys {
		k, v, ok := strings.Cut(lines[i], ": ")
		if !ok || k != key || v == "" {
			t.Errorf("line %d = %q, want %q: <non-empty value>", i, lines[i], key)
		}
	}
	if lines[1] != "commit: abc123" {
		t.Errorf("commit line = %q, want %q", lines[1], "commit: abc123")
	}
}
