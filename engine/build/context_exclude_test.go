package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadContextExclude(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "app.txt", "trace.jsonl", "sub/iid"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "trace.jsonl")
	c, err := LoadContext(dir, "Dockerfile", filepath.Join(dir, "trace.jsonl"), filepath.Join(dir, "sub", "iid"), outside, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Dockerfile", "app.txt", "sub"} {
		if c.Files[want] == nil {
			t.Errorf("context lacks %s", want)
		}
	}
	for _, gone := range []string{"trace.jsonl", "sub/iid"} {
		if c.Files[gone] != nil {
			t.Errorf("context holds the excluded %s", gone)
		}
	}
	all, err := LoadContext(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if all.TarSize <= c.TarSize {
		t.Errorf("TarSize %d with exclusions, %d without: want smaller", c.TarSize, all.TarSize)
	}
}
