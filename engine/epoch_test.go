package engine

import (
	"strings"
	"testing"
	"time"
)

func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if got, err := SourceDateEpoch(); err != nil || !got.IsZero() {
		t.Fatalf("unset: %v, %v", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if got, err := SourceDateEpoch(); err != nil || !got.Equal(time.Unix(1700000000, 0)) || got.Location() != time.UTC {
		t.Fatalf("1700000000: %v, %v", got, err)
	}
	for _, bad := range []string{"yesterday", "-5", "1.5"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if _, err := SourceDateEpoch(); err == nil || !strings.Contains(err.Error(), "is not a number of seconds") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRootlessRoot(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/data/ada")
	if got := RootlessRoot(); got != "/data/ada/berth" {
		t.Errorf("with XDG_DATA_HOME: %s", got)
	}
	t.Setenv("XDG_DATA_HOME", "relative") // not absolute: ignored, as the XDG spec says
	t.Setenv("HOME", "/home/ada")
	if got := RootlessRoot(); got != "/home/ada/.local/share/berth" {
		t.Errorf("with HOME: %s", got)
	}
}
