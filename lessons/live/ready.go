package live

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// readyWait bounds how long a lesson waits for a server's log to say it
// is ready.
const readyWait = 60 * time.Second

// waitReady polls a detached container's log until it holds text, as an
// attendee watches `berth logs` before connecting. logs reads the log so
// far; running says whether the container still runs.
func waitReady(ctx context.Context, id, text string, logs func(context.Context, *bytes.Buffer) error, running func(context.Context) bool) error {
	deadline := time.Now().Add(readyWait)
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, 500*time.Millisecond) {
		var buf bytes.Buffer
		if err := logs(ctx, &buf); err != nil {
			return fmt.Errorf("read the log of container %.12s: %w", id, err)
		}
		if bytes.Contains(buf.Bytes(), []byte(text)) {
			return nil
		}
		if !running(ctx) {
			return fmt.Errorf("container %.12s stopped before its log said %q", id, text)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("container %.12s: its log did not say %q within %s", id, text, readyWait)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
