package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLinksNoCgo: berth-init is every container's init, and a binary that
// links cgo (os/user, net) is dynamically linked wherever cgo is enabled
// (a plain go build or go install), paying for the loader and cgo's
// start-up on each container start. It must stay pure Go.
func TestLinksNoCgo(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "runtime/cgo", "os/user", "net":
			t.Errorf("berth-init links %s", pkg)
		}
	}
}
