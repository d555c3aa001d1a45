//go:build unix

package cli

import (
	"os"
	"syscall"
)

// resizeSignals tell that the terminal changed size.
var resizeSignals = []os.Signal{syscall.SIGWINCH}

// proxiedSignals are forwarded to an attached container (docker run --sig-proxy).
var proxiedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func isResizeSignal(s os.Signal) bool { return s == syscall.SIGWINCH }
