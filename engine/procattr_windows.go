//go:build windows

package engine

import "syscall"

// detachedProcAttr is empty on Windows, where no container (and so no
// supervisor) is ever started.
func detachedProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
