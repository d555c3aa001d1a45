//go:build !linux

package main

import (
	"fmt"
	"os"
)

// berthbench times containers, which Berth runs only on Linux.
func main() {
	fmt.Fprintln(os.Stderr, "berthbench needs Linux (it times containers on namespaces and overlayfs)")
	os.Exit(1)
}
