package view

import (
	"io"
	"os"

	"github.com/fatih/color"
	"golang.org/x/term"
)

// Style colors lesson output. The zero value prints plain text.
type Style struct {
	on                                                  bool
	heading, narrate, note, ok, fail, dim, cmd, warning *color.Color
}

// NewStyle returns a style that colors when on is true.
func NewStyle(on bool) Style {
	mk := func(attrs ...color.Attribute) *color.Color {
		c := color.New(attrs...)
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return Style{
		on:      on,
		heading: mk(color.Bold, color.Underline),
		narrate: mk(color.FgCyan),
		note:    mk(color.FgYellow),
		ok:      mk(color.FgGreen, color.Bold),
		fail:    mk(color.FgRed, color.Bold),
		dim:     mk(color.Faint),
		cmd:     mk(color.Bold),
		warning: mk(color.FgMagenta, color.Bold),
	}
}

// ColorFor says whether output to w should be colored: only a terminal, and
// never when NO_COLOR is set to anything but "" (https://no-color.org) or
// TERM=dumb says the terminal takes no escape sequences.
func ColorFor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (s Style) paint(c *color.Color, text string) string {
	if c == nil || !s.on {
		return text
	}
	return c.Sprint(text)
}

// Dim paints text faint.
func (s Style) Dim(text string) string { return s.paint(s.dim, text) }

// OK paints text as a success.
func (s Style) OK(text string) string { return s.paint(s.ok, text) }

// Fail paints text as a failure.
func (s Style) Fail(text string) string { return s.paint(s.fail, text) }

// Cmd paints a command to type.
func (s Style) Cmd(text string) string { return s.paint(s.cmd, text) }

// Heading paints a heading.
func (s Style) Heading(text string) string { return s.paint(s.heading, text) }

// Warning paints a warning.
func (s Style) Warning(text string) string { return s.paint(s.warning, text) }
