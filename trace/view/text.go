package view

import "strings"

// FirstLine is the first line of an error message, for one-line summaries.
func FirstLine(s string) string { return firstLine(s) }

// OrNone shows an empty value as "(none)".
func OrNone(s string) string { return orNone(s) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
