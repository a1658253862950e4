package greet

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"   ", ""},
		{"alice", "Alice"},
		{"  bob  ", "Bob"},
		{"mary   jane\twatson", "Mary Jane Watson"},
		{"élodie", "Élodie"},
		{"ALREADY Upper", "ALREADY Upper"},
		{"42", "42"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  string
	}{
		{"nil", nil, "World"},
		{"only blanks", []string{"", "  "}, "World"},
		{"one", []string{"alice"}, "Alice"},
		{"two", []string{"alice", "bob"}, "Alice and Bob"},
		{"three", []string{"alice", "bob", "carol"}, "Alice, Bob, and Carol"},
		{"blanks dropped", []string{"alice", " ", "bob"}, "Alice and Bob"},
		{"four", []string{"a", "b", "c", "d"}, "A, B, C, and D"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Join(tt.names); got != tt.want {
				t.Errorf("Join(%q) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		style Style
		names []string
		want  string
	}{
		{Plain, nil, "Hello, World!"},
		{Plain, []string{"gopher"}, "Hello, Gopher!"},
		{Formal, []string{"ada", "grace"}, "Good day, Ada and Grace."},
		{Shout, []string{"bob"}, "HELLO, BOB!"},
		{Style(99), []string{"x"}, "Hello, X!"},
	}
	for _, tt := range tests {
		t.Run(tt.style.String(), func(t *testing.T) {
			if got := Format(tt.style, tt.names...); got != tt.want {
				t.Errorf("Format(%v, %q) = %q, want %q", tt.style, tt.names, got, tt.want)
			}
		})
	}
}

func TestHello(t *testing.T) {
	if got, want := Hello(), "Hello, World!"; got != want {
		t.Errorf("Hello() = %q, want %q", got, want)
	}
}

func TestEdition(t *testing.T) {
	if Edition != wantEdition {
		t.Errorf("Edition = %q, want %q", Edition, wantEdition)
	}
}

func BenchmarkFormat(b *testing.B) {
	names := []string{"alice", "bob", "carol  ann", "dave"}
	for i := 0; i < b.N; i++ {
		_ = Format(Formal, names...)
	}
}
