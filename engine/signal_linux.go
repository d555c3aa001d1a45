package engine

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// signalNum is the number of the signal called name ("SIGKILL"), or 0.
func signalNum(name string) syscall.Signal { return unix.SignalNum(name) }
