package build

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// The context keeps what Docker's client would send: moby/patternmatcher's
// rules, where a "!" pattern brings a file back from under an excluded
// directory.
func TestLoadContextDockerignoreExceptions(t *testing.T) {
	files := []string{
		"Dockerfile", "app.go", "debug.log", "important.log",
		"dir/keep.txt", "dir/drop.txt", "dir/sub/deep.txt", "dir/sub/other.bin",
		"vendor/a/x.go", "vendor/b/y.go", "docs/readme.md",
	}
	cases := []struct {
		name, ignore string
		want         []string
	}{
		{"file back from an excluded directory", "dir\n!dir/keep.txt\n",
			[]string{"Dockerfile", "app.go", "debug.log", "dir/keep.txt", "docs", "docs/readme.md", "important.log", "vendor", "vendor/a", "vendor/a/x.go", "vendor/b", "vendor/b/y.go"}},
		{"directory back from an excluded one", "dir\n!dir/sub\n",
			[]string{"Dockerfile", "app.go", "debug.log", "dir/sub", "dir/sub/deep.txt", "dir/sub/other.bin", "docs", "docs/readme.md", "important.log", "vendor", "vendor/a", "vendor/a/x.go", "vendor/b", "vendor/b/y.go"}},
		{"the last matching pattern wins", "*.log\n!important.log\n**/*.bin\nvendor\n!vendor/b\nvendor/b/y.go\n",
			[]string{"Dockerfile", "app.go", "dir", "dir/drop.txt", "dir/keep.txt", "dir/sub", "dir/sub/deep.txt", "docs", "docs/readme.md", "important.log", "vendor/b"}},
		{"everything but one file", "*\n!app.go\n",
			[]string{"Dockerfile", "app.go"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range files {
				p := filepath.Join(dir, filepath.FromSlash(f))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(f), 0o644))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(tc.ignore), 0o644))
			c, err := LoadContext(dir, "Dockerfile")
			require.NoError(t, err)
			var got []string
			for rel := range c.Files {
				if rel != ".dockerignore" {
					got = append(got, rel)
				}
			}
			sort.Strings(got)
			require.Equal(t, tc.want, got)
		})
	}
}
