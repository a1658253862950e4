// Package greet formats greetings for one or more names.
package greet

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultName is used when no usable name is given.
const DefaultName = "World"

// Style selects how a greeting is phrased.
type Style int

const (
	// Plain is "Hello, Name!".
	Plain Style = iota
	// Formal is "Good day, Name.".
	Formal
	// Shout is "HELLO, NAME!".
	Shout
)

// String returns the style's name.
func (s Style) String() string {
	switch s {
	case Plain:
		return "plain"
	case Formal:
		return "formal"
	case Shout:
		return "shout"
	default:
		return "unknown"
	}
}

// Normalize trims a name, collapses inner whitespace and capitalises the first
// letter of each word. It returns "" when nothing is left.
func Normalize(name string) string {
	words := strings.Fields(name)
	for i, w := range words {
		r, size := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToUpper(r)) + w[size:]
	}
	return strings.Join(words, " ")
}

// Join lists names in English: "A", "A and B", "A, B, and C".
// Blank names are dropped; with none left it returns DefaultName.
func Join(names []string) string {
	clean := make([]string, 0, len(names))
	for _, n := range names {
		if n = Normalize(n); n != "" {
			clean = append(clean, n)
		}
	}
	switch len(clean) {
	case 0:
		return DefaultName
	case 1:
		return clean[0]
	case 2:
		return clean[0] + " and " + clean[1]
	default:
		return strings.Join(clean[:len(clean)-1], ", ") + ", and " + clean[len(clean)-1]
	}
}

// Format greets the given names in the given style.
func Format(style Style, names ...string) string {
	who := Join(names)
	switch style {
	case Formal:
		return "Good day, " + who + "."
	case Shout:
		return strings.ToUpper("Hello, " + who + "!")
	default:
		return "Hello, " + who + "!"
	}
}

// Hello is Format(Plain, names...).
func Hello(names ...string) string {
	return Format(Plain, names...)
}
