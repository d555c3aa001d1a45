//go:build linux

package layertest

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHostileCasesAreWellFormed(t *testing.T) {
	cases := HostileCases()
	if len(cases) != 41 {
		t.Errorf("%d cases, want 41", len(cases))
	}
	seen := map[string]bool{}
	legit := 0
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("duplicate case %q", c.Name)
		}
		seen[c.Name] = true
		if c.Legit() {
			legit++
		}
		if c.Check != nil && !c.Legit() {
			t.Errorf("%s: a Check on a case that is not a legitimate control never runs", c.Name)
		}
		data := c.Tar("/canary")
		if len(data)%512 != 0 && c.Name != "absurd size" {
			t.Errorf("%s: %d bytes, not whole blocks", c.Name, len(data))
		}
		tr := tar.NewReader(bytes.NewReader(data))
		var names []string
		var err error
		for {
			var hdr *tar.Header
			if hdr, err = tr.Next(); err != nil {
				break
			}
			names = append(names, hdr.Name)
			if hdr.Size > 1<<30 {
				continue // the absurd cases: do not read terabytes of hole
			}
			if _, err = io.Copy(io.Discard, tr); err != nil {
				break
			}
		}
		switch c.Name {
		case "absurd size":
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: read error %v, want unexpected EOF", c.Name, err)
			}
		case "absurd sparse size":
			if len(names) != 1 || names[0] != "holes" {
				t.Errorf("%s: entries %v, want the GNU sparse file \"holes\"", c.Name, names)
			}
		default:
			if err != io.EOF || len(names) == 0 {
				t.Errorf("%s: entries %v, error %v; want a complete tar", c.Name, names, err)
			}
		}
	}
	if legit != 14 {
		t.Errorf("%d legitimate controls, want 14", legit)
	}
	// Absolute cases aim at the canary they are given.
	data := HostileCases()[5].Tar("/some/where")
	if !bytes.Contains(data, []byte("/some/where")) {
		t.Errorf("case %q does not name the canary", HostileCases()[5].Name)
	}
}

func TestCanaryNoticesChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Canary) error
		want   string
	}{
		{"nothing", func(*Canary) error { return nil }, ""},
		{"allowed root", func(c *Canary) error { return os.Mkdir(filepath.Join(c.Base, "root"), 0o755) }, ""},
		{"content", func(c *Canary) error { return os.WriteFile(filepath.Join(c.Dir, "file"), []byte("pwned!"), 0o644) }, "file changed"},
		{"mode and back", func(c *Canary) error {
			p := filepath.Join(c.Dir, "sub/deep")
			if err := os.Chmod(p, 0o777); err != nil {
				return err
			}
			return os.Chmod(p, 0o600)
		}, "sub/deep changed"},
		{"times", func(c *Canary) error {
			old := time.Unix(1, 0)
			return os.Chtimes(filepath.Join(c.Dir, "file"), old, old)
		}, "file changed"},
		{"hard link", func(c *Canary) error { return os.Link(filepath.Join(c.Dir, "file"), filepath.Join(c.Base, "root")) }, "file changed"},
		{"new file", func(c *Canary) error { return os.WriteFile(filepath.Join(c.Dir, "sub/new"), nil, 0o644) }, "sub/new: appeared"},
		{"removed", func(c *Canary) error { return os.Remove(filepath.Join(c.Dir, "sub/deep")) }, "sub/deep: missing"},
		{"beside", func(c *Canary) error { return os.WriteFile(filepath.Join(c.Base, "evil"), nil, 0o644) }, "evil appeared beside the canary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCanary(t, t.TempDir())
			// A change in the same clock tick as NewCanary must still show.
			time.Sleep(10 * time.Millisecond)
			if err := tc.change(c); err != nil {
				t.Fatal(err)
			}
			err := c.Check("root")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v, want nothing", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check: %v, want %q", err, tc.want)
			}
		})
	}
}
