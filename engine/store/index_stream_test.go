package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func streamAll(data []byte) ([]ocispec.Descriptor, error) {
	var got []ocispec.Descriptor
	err := streamIndex(bytes.NewReader(data), func(d ocispec.Descriptor) bool {
		got = append(got, d)
		return true
	})
	return got, err
}

const streamSample = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:` + hex64a + `", "size": 10,
     "annotations": {"org.opencontainers.image.ref.name": "docker.io/library/a:1", "x": "caf\u00e9"}},
    {"digest": "sha256:` + hex64b + `", "size": 11, "platform": {"architecture": "amd64", "os": "linux"}}
  ],
  "annotations": {"k": "v"}
}`

const (
	hex64a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hex64b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// The streamed entries are the entries decodeIndex reads, field for field.
func TestStreamIndexMatchesDecodeIndex(t *testing.T) {
	for _, data := range []string{streamSample, `{}`, `{"manifests": null}`, `{"manifests": []}`, `{"schemaVersion":2,"manifests":[{}]}`} {
		want, _, err := decodeIndex([]byte(data))
		if err != nil {
			t.Fatalf("decodeIndex(%.40q): %v", data, err)
		}
		got, err := streamAll([]byte(data))
		if err != nil {
			t.Fatalf("streamIndex(%.40q): %v", data, err)
		}
		if len(got) != len(want.Manifests) || (len(got) > 0 && !reflect.DeepEqual(got, want.Manifests)) {
			t.Errorf("streamIndex(%.40q) = %+v, want %+v", data, got, want.Manifests)
		}
		// Read a byte at a time, every value crosses a chunk's end.
		var slow []ocispec.Descriptor
		err = streamIndex(iotest.OneByteReader(strings.NewReader(data)), func(d ocispec.Descriptor) bool {
			slow = append(slow, d)
			return true
		})
		if err != nil || !reflect.DeepEqual(slow, got) {
			t.Errorf("streamIndex(%.40q) a byte at a time = %+v, %v; want %+v", data, slow, err, got)
		}
	}
}

// A truncated or hostile index.json is an error, never a panic or a
// partial listing reported as whole.
func TestStreamIndexRefusesDamage(t *testing.T) {
	for i := 0; i < len(streamSample)-1; i++ {
		if strings.TrimSpace(streamSample[:i]) == "" {
			continue
		}
		if _, err := streamAll([]byte(streamSample[:i])); err == nil {
			t.Fatalf("truncated at %d of %d: no error", i, len(streamSample))
		}
		err := streamIndex(iotest.OneByteReader(strings.NewReader(streamSample[:i])), func(ocispec.Descriptor) bool { return true })
		if err == nil {
			t.Fatalf("truncated at %d of %d, a byte at a time: no error", i, len(streamSample))
		}
	}
	for _, bad := range []string{
		``, `[]`, `"x"`, `{"manifests": {}}`, `{"manifests": [1]}`, `{"manifests": [{"size": "x"}]}`,
		`{"manifests": [], "manifests": []}`, `{"manifests": []} {}`, `{"manifests": [{}] `, `{"a": }`,
		`{"manifests": [{},]}`, `{"manifests": [,{}]}`, `{"a": [}`, `{"a": 1,}`, `{1: 2}`, `{"manifests": nul}`, `{"a": tru}`,
	} {
		if _, err := streamAll([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// eachIndexEntry names the damaged file and what to do; fn's error stops
// the walk and comes back as it is.
func TestEachIndexEntryErrors(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	if err := s.eachIndexEntry(func(ocispec.Descriptor) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("empty store: %d entries, %v", n, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(s.root, "index.json"), []byte(streamSample), 0o644))
	stop := errors.New("stop")
	if err := s.eachIndexEntry(func(ocispec.Descriptor) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("stop: %d entries, %v, want 1 and stop", n, err)
	}
	must(os.WriteFile(filepath.Join(s.root, "index.json"), []byte(streamSample[:200]), 0o644))
	err = s.eachIndexEntry(func(ocispec.Descriptor) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "index.json in "+s.root+" is corrupt") {
		t.Errorf("truncated index: %v", err)
	}
}

// BenchmarkStreamIndex reports what a walk of 10,000 entries allocates;
// the walk keeps none of it (the listing copies what it needs).
func BenchmarkStreamIndex(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"schemaVersion":2,"manifests":[`)
	for i := range 10000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%064x","size":500,"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/seed:%d"}}`, i, i)
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := streamIndex(bytes.NewReader(data), func(ocispec.Descriptor) bool { n++; return true }); err != nil || n != 10000 {
			b.Fatal(n, err)
		}
	}
}

// ImageBriefs answers a name and a full ID as Image does, and leaves the
// forms it cannot answer alone (an ID prefix, name@digest) to Image.
func TestImageBriefsLookup(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	idx := `{"schemaVersion":2,"manifests":[
{"digest":"sha256:` + hex64a + `","size":10,"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/a:1","` + AnnotationID + `":"sha256:` + hex64b + `","` + AnnotationSize + `":"42"}},
{"digest":"sha256:` + hex64b + `","size":10,"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/old:1"}}]}`
	if err := os.WriteFile(filepath.Join(s.root, "index.json"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := s.ImageBriefs()
	if err != nil {
		t.Fatal(err)
	}
	want := ImageBrief{ID: "sha256:" + hex64b, Size: 42, complete: true}
	for _, c := range []struct {
		name      string
		ok, known bool
	}{
		{"a:1", true, true}, {"docker.io/library/a:1", true, true}, {"sha256:" + hex64b, true, true}, {hex64b, true, true},
		{"a", false, true}, {"nothere", false, true},
		{"old:1", false, false},              // no AnnotationID: Image reads its manifest
		{"bbbb", false, false},               // an ID prefix
		{"a@sha256:" + hex64a, false, false}, // by digest
		{"sha256:" + hex64a, false, false},   // an ID no entry announces
		{"UPPER", false, false},              // not a name: Image reports it
	} {
		got, ok, known := b.Lookup(c.name)
		if ok != c.ok || known != c.known || (ok && got != want) {
			t.Errorf("Lookup(%q) = %+v, %v, %v; want ok %v known %v", c.name, got, ok, known, c.ok, c.known)
		}
	}
	if err := os.WriteFile(filepath.Join(s.root, "index.json"), []byte(idx[:150]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImageBriefs(); err == nil || !strings.Contains(err.Error(), "is corrupt") {
		t.Errorf("truncated index: %v", err)
	}
}
