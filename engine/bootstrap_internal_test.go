package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestReleaseDate(t *testing.T) {
	release := "Origin: Debian\nLabel: Debian\nSuite: stable\nCodename: bookworm\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nAcquire-By-Hash: yes\n"
	got, err := releaseDate(strings.NewReader(release), "Release")
	if err != nil || !got.Equal(time.Date(2026, 7, 11, 10, 16, 37, 0, time.UTC)) {
		t.Errorf("releaseDate = %v, %v", got, err)
	}
	for _, bad := range []string{"", "Origin: Debian\n", "Date: yesterday\n", "Origin: x\n\nDate: Sat, 11 Jul 2026 10:16:37 UTC\n"} {
		if _, err := releaseDate(strings.NewReader(bad), "Release"); err == nil {
			t.Errorf("releaseDate(%q) accepted it", bad)
		}
	}
}

// The config depends only on the suite, the snapshot and the layer: no
// mirror, host or clock in it, so two machines agree on the image ID.
func TestDebianConfigIsReproducible(t *testing.T) {
	when := time.Unix(1700000000, 0).UTC()
	a := debianConfig("bookworm", when, digest.FromString("layer"))
	b := debianConfig("bookworm", when, digest.FromString("layer"))
	if a.Created.Unix() != 1700000000 || a.History[0].Created.Unix() != 1700000000 {
		t.Errorf("times %v %v", a.Created, a.History[0].Created)
	}
	if a.History[0].CreatedBy != b.History[0].CreatedBy || strings.Contains(a.History[0].CreatedBy, "http") {
		t.Errorf("created by %q", a.History[0].CreatedBy)
	}
}
