package cli

import (
	"bufio"
	"context"
	"os"
	"strings"

	"github.com/berthkit/berth/lessons"
)

// quizAsker reads the attendee's quiz answers from stdin, one line each,
// through the same line reader as the pauses, so the two never compete.
func quizAsker(opts *lessonOptions) lessons.Asker {
	var lines <-chan string
	if f, ok := opts.stdin.(*os.File); ok {
		lines = opts.stdinLines(f)
	} else {
		ch := make(chan string)
		go func() {
			defer close(ch)
			r := bufio.NewReader(opts.stdin)
			for {
				line, err := r.ReadString('\n')
				if line != "" {
					ch <- line
				}
				if err != nil {
					return
				}
			}
		}()
		lines = ch
	}
	return func(ctx context.Context) (string, bool) {
		select {
		case line, ok := <-lines:
			return strings.TrimSpace(line), ok
		case <-ctx.Done():
			return "", false
		}
	}
}
