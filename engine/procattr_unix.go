//go:build unix

package engine

import "syscall"

// detachedProcAttr puts a supervisor in its own session, so the terminal's
// signals (Ctrl-C, hang-up) reach only the berth command that started it.
func detachedProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
