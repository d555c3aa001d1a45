//go:build !unix

package engine

// lockLogRotation does nothing where containers do not run.
func lockLogRotation(string, bool) (unlock func()) { return func() {} }
