//go:build windows

package cli

import (
	"os"
	"syscall"
)

// resizeSignals is empty: Windows has no SIGWINCH.
var resizeSignals []os.Signal

// proxiedSignals are the ones Windows can deliver (Ctrl-C, Ctrl-Break, close).
var proxiedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func isResizeSignal(os.Signal) bool { return false }
