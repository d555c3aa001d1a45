//go:build !linux

package store

import "errors"

// exchangeFiles is Linux's renameat2 RENAME_EXCHANGE; elsewhere the
// caller renames over the old file instead.
func exchangeFiles(a, b string) error {
	return errors.ErrUnsupported
}
