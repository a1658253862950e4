package buildinfo

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"runtime/debug"
	"testing"
)

func vcsInfo(version string) *debug.BuildInfo {
	return &debug.BuildInfo{
		GoVersion: "go1.99.0",
		Main:      debug.Module{Path: "example.com/hello", Version: version},
		Settings: []debug.BuildSetting{
			{Key: "-tags", Value: "prod"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2024-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
}

func TestResolve(t *testing.T) {
	full := LDFlags{
		Version:    "v1.2.3",
		Commit:     "abc",
		CommitDate: "2025-05-05T00:00:00Z",
		Dirty:      "false",
		GoVersion:  "go1.26.8",
	}
	tests := []struct {
		name    string
		ld      LDFlags
		bi      *debug.BuildInfo
		edition string
		want    Info
	}{
		{
			name:    "linker values win over build info",
			ld:      full,
			bi:      vcsInfo("v0.0.1"),
			edition: "prod",
			want:    Info{"v1.2.3", "abc", "2025-05-05T00:00:00Z", "false", "go1.26.8", "prod"},
		},
		{
			name:    "build info fills empty linker values",
			bi:      vcsInfo("v0.0.1"),
			edition: "default",
			want:    Info{"v0.0.1", "0123456789abcdef", "2024-01-02T03:04:05Z", "true", "go1.99.0", "default"},
		},
		{
			name:    "devel main version is not a version",
			ld:      LDFlags{Commit: "abc"},
			bi:      vcsInfo("(devel)"),
			edition: "default",
			want:    Info{Unknown, "abc", "2024-01-02T03:04:05Z", "true", "go1.99.0", "default"},
		},
		{
			name: "build info without vcs settings",
			ld:   LDFlags{Dirty: "true"},
			bi: &debug.BuildInfo{
				GoVersion: "go1.21.0",
				Main:      debug.Module{Path: "example.com/hello", Version: "(devel)"},
			},
			edition: "default",
			want:    Info{Unknown, Unknown, Unknown, "true", "go1.21.0", "default"},
		},
		{
			name: "no build info at all",
			want: Info{Unknown, Unknown, Unknown, Unknown, runtime.Version(), Unknown},
		},
		{
			name: "empty Go version in build info uses the runtime",
			bi:   &debug.BuildInfo{},
			want: Info{Unknown, Unknown, Unknown, Unknown, runtime.Version(), Unknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resolve(tt.ld, tt.bi, tt.edition)
			if got != tt.want {
				t.Errorf("Resolve() =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	got := Read(LDFlags{Commit: "abc"}, "default")
	if got.Commit != "abc" || got.Edition != "default" {
		t.Errorf("Read() = %+v, want linker commit and edition kept", got)
	}
	if got.GoVersion == "" || got.Version == "" || got.CommitDate == "" || got.Dirty == "" {
		t.Errorf("Read() left a field empty: %+v", got)
	}
}

func TestLinesAndWrite(t *testing.T) {
	info := Info{"v1", "abc", "2024-01-02T03:04:05Z", "true", "go1.26.8", "prod"}
	wantLines := []string{
		"version: v1",
		"commit: abc",
		"commit date: 2024-01-02T03:04:05Z",
		"dirty: true",
		"go: go1.26.8",
		"edition: prod",
	}
	if got := info.Lines(); !reflect.DeepEqual(got, wantLines) {
		t.Errorf("Lines() = %q, want %q", got, wantLines)
	}
	var buf bytes.Buffer
	if err := info.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "version: v1\ncommit: abc\ncommit date: 2024-01-02T03:04:05Z\ndirty: true\ngo: go1.26.8\nedition: prod\n"
	if buf.String() != want {
		t.Errorf("Write() wrote %q, want %q", buf.String(), want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }

func TestWriteError(t *testing.T) {
	if err := (Info{}).Write(failWriter{}); err == nil {
		t.Error("Write() to a failing writer returned nil error")
	}
}
