//go:build !linux

package cli

import (
	"os"
	"path/filepath"
	"runtime"
)

// defaultRoot is a per-user directory off Linux, where no container runs
// and berth needs no root: %LocalAppData%\berth on Windows,
// ~/Library/Application Support/berth on macOS.
func defaultRoot() string {
	var dir string
	var err error
	if runtime.GOOS == "windows" {
		dir, err = os.UserCacheDir() // %LocalAppData%: not roamed
	} else {
		dir, err = os.UserConfigDir()
	}
	if err != nil || dir == "" {
		return filepath.Join(os.TempDir(), "berth")
	}
	return filepath.Join(dir, "berth")
}
