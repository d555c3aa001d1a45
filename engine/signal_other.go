//go:build !linux

package engine

import "syscall"

// signalNum is Linux's number of the signal called name ("SIGKILL"), or 0.
func signalNum(name string) syscall.Signal { return syscall.Signal(linuxSignals[name]) }
