package lessons

import (
	"strings"

	"github.com/berthkit/berth/trace"
)

func shortID(id string) string { return trace.ShortID(id) }

func humanSize(n int64) string { return trace.HumanSize(n) }

// stripMarkdown drops the emphasis marks a terminal cannot show.
func stripMarkdown(s string) string { return strings.ReplaceAll(s, "**", "") }
