package registry

import (
	"bytes"
	"strings"
	"testing"
)

func TestPlainProgressPrintsEachStateOnce(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf) // a buffer is not a terminal: plain lines
	p.Line("latest: Pulling from library/alpine")
	p.Status("a1b2c3d4e5f6", "Pulling fs layer")
	p.Bytes("a1b2c3d4e5f6", "Downloading", 10, 100)
	p.Status("a1b2c3d4e5f6", "Pulling fs layer")
	p.Done("a1b2c3d4e5f6", "Pull complete")
	p.Close()
	p.Line("Digest: sha256:x")
	want := "latest: Pulling from library/alpine\na1b2c3d4e5f6: Pulling fs layer\na1b2c3d4e5f6: Pull complete\nDigest: sha256:x\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestBarProgressEndsWithFinalStates(t *testing.T) {
	var buf bytes.Buffer
	p := NewBarProgress(&buf)
	p.Line("latest: Pulling from x")
	p.Status("aaaaaaaaaaaa", "Pulling fs layer")
	p.Done("bbbbbbbbbbbb", "Already exists")
	p.Bytes("aaaaaaaaaaaa", "Downloading", 50, 100)
	p.Done("aaaaaaaaaaaa", "Pull complete")
	p.Line("Digest: sha256:x")
	p.Close()
	out := buf.String()
	for _, want := range []string{"latest: Pulling from x\n", "aaaaaaaaaaaa: Pull complete", "bbbbbbbbbbbb: Already exists", "Digest: sha256:x\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	if strings.Index(out, "Digest:") < strings.LastIndex(out, "Pull complete") {
		t.Errorf("the digest line came before the bars ended:\n%q", out)
	}
}

func TestProgressBar(t *testing.T) {
	got := ProgressBar(1_080_000, 3_370_000)
	want := "[" + strings.Repeat("=", 16) + ">" + strings.Repeat(" ", 33) + "]   1.08MB/3.37MB"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := ProgressBar(5, 5); !strings.HasPrefix(got, "["+strings.Repeat("=", 49)+">]") {
		t.Errorf("full bar %q", got)
	}
}
