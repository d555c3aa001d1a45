package lessons

import (
	"strings"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
)

func shortID(id string) string { return trace.ShortID(id) }

func humanSize(n int64) string { return trace.HumanSize(n) }

// stripMarkdown drops the emphasis marks a terminal cannot show.
func stripMarkdown(s string) string { return strings.ReplaceAll(s, "**", "") }

func firstLine(s string) string { return view.FirstLine(s) }

func orNone(s string) string { return view.OrNone(s) }
