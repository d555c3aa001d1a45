package ovl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var errRefused = errors.New("refused")

func TestWithoutOption(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"lowerdir=l/0,upperdir=upper,workdir=work,volatile", "lowerdir=l/0,upperdir=upper,workdir=work"},
		{"volatile,lowerdir=l/0", "lowerdir=l/0"},
		{"lowerdir=l/0,volatile,index=off", "lowerdir=l/0,index=off"},
	} {
		got, ok := WithoutOption(tc.in, Volatile)
		if !ok || got != tc.out {
			t.Errorf("WithoutOption(%q) = %q, %v; want %q, true", tc.in, got, ok, tc.out)
		}
	}
	// A lower dir whose name merely contains the word is not the option.
	if got, ok := WithoutOption("lowerdir=volatile,workdir=work", Volatile); ok || got != "lowerdir=volatile,workdir=work" {
		t.Errorf("WithoutOption kept the wrong options: %q, %v", got, ok)
	}
}

// A kernel before 5.10 refuses the option: the mount goes on without it.
func TestMountFallsBackWithoutVolatile(t *testing.T) {
	var tried []string
	err := Mount(t.TempDir(), "lowerdir=l/0,upperdir=upper,workdir=work,volatile", func(data string) error {
		tried = append(tried, data)
		if strings.Contains(data, Volatile) {
			return errRefused
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"lowerdir=l/0,upperdir=upper,workdir=work,volatile", "lowerdir=l/0,upperdir=upper,workdir=work"}
	if strings.Join(tried, "|") != strings.Join(want, "|") {
		t.Errorf("tried %q, want %q", tried, want)
	}
}

// The mark an earlier volatile mount left is removed, and only after the
// kernel refused: the mount that follows uses the same options.
func TestMountRemovesAnEarlierVolatileMark(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "work", "work", "incompat", "volatile")
	if err := os.MkdirAll(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(marker, "dirty"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	data := "lowerdir=l/0,upperdir=upper,workdir=work,volatile"
	var tried []string
	err := Mount(dir, data, func(d string) error {
		tried = append(tried, d)
		if _, err := os.Lstat(marker); err == nil {
			return errRefused
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tried) != 2 || tried[1] != data {
		t.Errorf("tried %q, want the same options twice", tried)
	}
	if _, err := os.Lstat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mark still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "work", "work", "incompat")); err != nil {
		t.Errorf("the rest of the work directory went too: %v", err)
	}
}

// A mount that fails for another reason reports its own error, once
// every retry failed too, and removes nothing.
func TestMountReportsTheFirstError(t *testing.T) {
	dir := t.TempDir()
	calls := 0
	err := Mount(dir, "/abs/upper,workdir=/abs/work", func(string) error {
		calls++
		if calls == 1 {
			return errRefused
		}
		return errors.New("later")
	})
	if !errors.Is(err, errRefused) || calls != 1 {
		t.Errorf("err %v after %d calls, want %v after 1", err, calls, errRefused)
	}
	if got := volatileMarker(dir, "workdir=/abs/work"); got != "/abs/work/work/incompat/volatile" {
		t.Errorf("marker of an absolute work dir: %q", got)
	}
}
