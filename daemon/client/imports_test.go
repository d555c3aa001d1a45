package client

import (
	"os/exec"
	"strings"
	"testing"
)

// A client of the daemon must build without the engine: of Berth's
// packages it may depend only on the wire types and two leaves that import
// nothing of Berth's (the error classes and the -p syntax).
func TestImportsPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{
		"github.com/berthkit/berth/daemon/client":           true,
		"github.com/berthkit/berth/daemon/api":              true,
		"github.com/berthkit/berth/engine/errdefs":          true,
		"github.com/berthkit/berth/engine/network/portspec": true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/berthkit/berth/") && !allowed[dep] {
			t.Errorf("daemon/client depends on %s; move what it needs into daemon/api or a leaf package", dep)
		}
	}
}
