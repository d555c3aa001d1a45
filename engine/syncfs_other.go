//go:build !linux

package engine

import "errors"

// syncDirFS is Linux's syncfs(2); elsewhere no container runs and no
// upper dir is adopted.
func syncDirFS(string) error { return errors.New("syncfs is Linux-only") }

var syncUpper = syncDirFS
