package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine/store"
)

func TestValidateCpuset(t *testing.T) {
	for _, c := range []struct{ value, available, want string }{
		{"0-1,3", "0-3", ""},
		{"0", "", ""}, // nothing to compare with
		{"4", "0-3", "Requested CPUs are not available - requested 4, available: 0-3"},
		{"1-0", "0-3", "Invalid value 1-0 for cpuset cpus"},
		{"-1", "0-3", "Invalid value -1 for cpuset cpus"},
		{"0-99999999", "0-3", "Invalid value 0-99999999 for cpuset cpus"},
	} {
		file := filepath.Join(t.TempDir(), "online")
		if err := os.WriteFile(file, []byte(c.available+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := validateCpuset("cpus", c.value, file)
		if (c.want == "") != (err == nil) || (err != nil && err.Error() != c.want) {
			t.Errorf("%q in %q: %v, want %q", c.value, c.available, err, c.want)
		}
	}
	// Without a cpuset the online list is not read at all.
	if err := validateCpuset("cpus", "", filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("no cpuset: %v", err)
	}
}

func TestValidateLogConfig(t *testing.T) {
	ok := []map[string]string{nil, {"max-size": "10m"}, {"max-size": "1k", "max-file": "3"}}
	for _, o := range ok {
		if err := validateLogConfig("json-file", o); err != nil {
			t.Errorf("%v: %v", o, err)
		}
	}
	for _, c := range []struct {
		driver string
		opts   map[string]string
		want   string
	}{
		{"journald", nil, "no log driver named 'journald'"},
		{"none", map[string]string{"max-file": "1"}, "unknown log opt 'max-file' for none log driver"},
		{"", map[string]string{"labels": "a"}, "unknown log opt 'labels' for json-file log driver"},
		{"", map[string]string{"max-size": "-1"}, `invalid log opt max-size "-1"`},
		{"", map[string]string{"max-size": "1m", "max-file": "0"}, "max-file cannot be less than 1"},
		{"", map[string]string{"max-file": "2"}, "max-file can only be set when max-size is set"},
	} {
		if err := validateLogConfig(c.driver, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.driver, c.opts, err, c.want)
		}
	}
}

// The log rotates at max-size into max-file files; reading them oldest
// first gives the newest lines in order, and the oldest file is dropped.
func TestJSONLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := openJSONLog(path, map[string]string{"max-size": "300", "max-file": "3"})
	if err != nil {
		t.Fatal(err)
	}
	out := l.stream("stdout")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(out, "line-%02d\n", i)
	}
	l.Close()
	for _, p := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(p)
		if err != nil || st.Size() > 300 || st.Size() == 0 {
			t.Fatalf("%s: %v %v", p, st, err)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a fourth file was kept: %v", err)
	}
	var got bytes.Buffer
	add := func(e logEntry) { got.WriteString(e.Log) }
	files, cur, err := openNewer(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, cur) {
		err := (&logReader{f: f, r: bufio.NewReader(f)}).entries(add)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(got.String()), "\n")
	if lines[len(lines)-1] != "line-30" || len(lines) > 12 || len(lines) < 6 {
		t.Fatalf("read back %q", lines)
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] <= lines[i-1] {
			t.Errorf("out of order: %q", lines)
		}
	}
}

func TestStopTimeoutOf(t *testing.T) {
	c := &store.Container{}
	if got := stopTimeoutOf(c); got != 10 {
		t.Errorf("default %d", got)
	}
	n := 2
	c.Config.StopTimeout = &n
	if got := stopTimeoutOf(c); got != 2 {
		t.Errorf("set %d", got)
	}
}

// A follower reading the log moves on to the new file when it rotates.
func TestLogReaderFollowsRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c-json.log")
	l, err := openJSONLog(path, map[string]string{"max-size": "100", "max-file": "2"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := l.stream("stdout")
	fmt.Fprintln(out, "first")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	lr := &logReader{f: f, r: bufio.NewReader(f)}
	defer func() { lr.f.Close() }()
	var got []string
	add := func(e logEntry) { got = append(got, strings.TrimSpace(e.Log)) }
	if err := lr.entries(add); err != nil {
		t.Fatal(err)
	}
	if rotated, _ := lr.reopen(path, add); rotated {
		t.Fatal("reopened without a rotation")
	}
	fmt.Fprintln(out, "second") // over 100 bytes with the first: rotates
	fmt.Fprintln(out, "third")
	if err := lr.entries(add); err != nil {
		t.Fatal(err)
	}
	if rotated, err := lr.reopen(path, add); !rotated || err != nil {
		t.Fatalf("the rotation was not noticed: %v", err)
	}
	if err := lr.entries(add); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "first second third" {
		t.Errorf("followed %q", got)
	}
}
