package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// rawTestIndex has the shapes an index entry takes: tagged, untagged,
// with a platform, URLs, data and characters JSON escapes.
func rawTestIndex() *ocispec.Index {
	idx := newIndex()
	idx.Annotations = map[string]string{"note": "a<b & c>d"}
	for i := range 5 {
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint(i)), Size: int64(100 + i),
			Annotations: map[string]string{AnnotationID: digest.FromString(fmt.Sprint("cfg", i)).String()}}
		switch i {
		case 1:
			d.Annotations[ocispec.AnnotationRefName] = "docker.io/library/busybox:latest"
		case 2:
			d.Platform = &ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
			d.URLs = []string{"https://example.invalid/x?a=1&b=2"}
		case 3:
			d.Data = []byte("{}")
			d.Annotations["label"] = "<html>\n\"quoted\""
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	return idx
}

func TestEncodeIndexMatchesMarshalIndent(t *testing.T) {
	for name, idx := range map[string]*ocispec.Index{"entries": rawTestIndex(), "empty": newIndex()} {
		want, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, raws, _, err := encodeIndex(idx, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: encodeIndex differs from MarshalIndent:\n%s\nwant:\n%s", name, got, want)
		}
		// Decoding the file gives back the same raw bytes per entry, and
		// encoding from them reproduces the file.
		back, backRaws, err := decodeIndex(got)
		if err != nil {
			t.Fatal(err)
		}
		for i := range raws {
			if !bytes.Equal(raws[i], backRaws[i]) {
				t.Fatalf("%s: entry %d raw bytes differ after decode: %s vs %s", name, i, raws[i], backRaws[i])
			}
		}
		again, _, _, err := encodeIndex(back, back.Manifests, backRaws)
		if err != nil || !bytes.Equal(again, want) {
			t.Fatalf("%s: rewrite from raw bytes is not byte-stable (err %v):\n%s", name, err, again)
		}
	}
}

func TestEncodeIndexReencodesChangedEntries(t *testing.T) {
	idx := rawTestIndex()
	data, _, _, err := encodeIndex(idx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev, raws, err := decodeIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	// A stale raw entry under the same digest and name must not be reused.
	raws[0] = json.RawMessage(`{"mediaType":"stale"}`)
	changed := cloneIndex(prev)
	changed.Manifests[1].Annotations[ocispec.AnnotationRefName] = "docker.io/library/busybox:1"
	changed.Manifests[0].Size = 999
	got, _, _, err := encodeIndex(changed, prev.Manifests, raws)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(changed, "", "  ")
	if !bytes.Equal(got, want) {
		t.Fatalf("changed entries were not re-encoded:\n%s\nwant:\n%s", got, want)
	}
}

// An entry written by another tool, with a field Berth does not know,
// keeps its bytes when Berth adds an image to the index.
func TestIndexRewriteKeepsUnknownFields(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	foreign := `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + digest.FromString("x").String() +
		`","size":7,"io.example.extra":{"kept":[1,2]},"annotations":{"org.opencontainers.image.ref.name":"other:1"}}`
	file := `{"schemaVersion":2,"manifests":[` + foreign + `]}`
	if err := os.WriteFile(filepath.Join(root, "index.json"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	added := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("y"), Size: 9}
	if err := s.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests = append(idx.Manifests, added)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(foreign)) {
		t.Fatalf("the foreign entry lost its bytes:\n%s", data)
	}
	var back ocispec.Index
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("rewritten index.json is not JSON: %v\n%s", err, data)
	}
	if len(back.Manifests) != 2 || back.Manifests[0].Digest != added.Digest || back.Manifests[1].Size != 7 {
		t.Fatalf("entries after rewrite: %+v", back.Manifests)
	}
	// A fresh process sees the same two entries, and a rewrite that
	// changes nothing leaves the file as it is.
	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.UpdateIndex(func(*ocispec.Index) error { return nil }); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(root, "index.json"))
	if !bytes.Equal(again, data) {
		t.Fatalf("an unchanged index was not rewritten byte for byte:\n%s\nbefore:\n%s", again, data)
	}
	// Changing the foreign entry re-encodes it (its unknown field goes).
	if err := s2.UpdateIndex(func(idx *ocispec.Index) error {
		idx.Manifests[1].Annotations[ocispec.AnnotationRefName] = "other:2"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	last, _ := os.ReadFile(filepath.Join(root, "index.json"))
	if !strings.Contains(string(last), `"other:2"`) || strings.Contains(string(last), "io.example.extra") {
		t.Fatalf("the changed entry was not re-encoded:\n%s", last)
	}
}

// BenchmarkIndexAddImage adds one image to an index of n, in a new
// process each time (open, read, add, write), as a one-step build does.
//
//	go test -run '^$' -bench IndexAddImage -benchmem ./engine/store
func BenchmarkIndexAddImage(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			root := b.TempDir()
			idx := &ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
			for i := range n {
				idx.Manifests = append(idx.Manifests, benchEntry(i))
			}
			data, err := json.MarshalIndent(idx, "", "  ")
			if err != nil {
				b.Fatal(err)
			}
			if err := os.MkdirAll(root, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "index.json"), data, 0o644); err != nil {
				b.Fatal(err)
			}
			i := n
			for b.Loop() {
				s, err := Open(root)
				if err != nil {
					b.Fatal(err)
				}
				i++
				unlock, err := s.Lock()
				if err == nil {
					err = s.appendIndexLocked(benchEntry(i)) // what PutImage does
					unlock()
				}
				s.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchEntry is an untagged build step's entry, as PutImage writes it.
func benchEntry(i int) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint("m", i)), Size: 480,
		Annotations: map[string]string{
			AnnotationID:      digest.FromString(fmt.Sprint("c", i)).String(),
			AnnotationParent:  digest.FromString("parent").String(),
			AnnotationSize:    "4400000",
			AnnotationCreated: "2026-12-03T11:00:00.123456789Z",
		}}
}

// decodeIndex agrees with json.Unmarshal on what it accepts and refuses.
func TestDecodeIndexAgreesWithUnmarshal(t *testing.T) {
	good, _ := json.MarshalIndent(rawTestIndex(), "", "  ")
	d := digest.FromString("x").String()
	for _, in := range []string{
		string(good),
		`{"schemaVersion":2,"manifests":[]}`,
		`{"schemaVersion":2,"manifests":null}`,
		`{"manifests":[{"digest":"` + d + `","size":1,"annotations":{"k":"a\"]}"}}],"schemaVersion":2}`,
		` { "annotations" : {"x":"y"} , "manifests" : [ {"size":2} , {"size":3} ] } `,
		`{"schemaVersion":2}`,
		// Corrupt ones: every one must be refused.
		`{"schemaVersion":2,"manifests":[{"size":1}`,
		`{"schemaVersion":2,"manifests":[{"size":1},]}`,
		`{"schemaVersion":2,"manifests":[{"size":1} {"size":2}]}`,
		`{"schemaVersion":2,"manifests":[{"size":"one"}]}`,
		`{"schemaVersion":2,"manifests":[{"size":1}],"x":}`,
		`{"schemaVersion":2,"manifests":{"size":1}}`,
		`{"schemaVersion":2,"manifests":[{"size":1}],"manifests":[{"size":2}]}`,
		`{"schemaVersion":2,"manifests":[tru]}`,
		`[]`,
		``,
	} {
		want := newIndex() // as readIndexShared decoded it before
		wantErr := json.Unmarshal([]byte(in), want)
		got, raws, err := decodeIndex([]byte(in))
		if strings.Count(in, `"manifests"`) > 1 {
			wantErr = fmt.Errorf("duplicate") // refused, unlike Unmarshal which keeps the last
		}
		if (err != nil) != (wantErr != nil) {
			t.Errorf("decodeIndex(%q): error %v, json.Unmarshal: %v", in, err, wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if len(raws) != len(got.Manifests) || len(got.Manifests) != len(want.Manifests) {
			t.Errorf("decodeIndex(%q): %d entries (%d raw), want %d", in, len(got.Manifests), len(raws), len(want.Manifests))
			continue
		}
		for i := range want.Manifests {
			if !descEqual(got.Manifests[i], want.Manifests[i]) {
				t.Errorf("decodeIndex(%q): entry %d = %+v, want %+v", in, i, got.Manifests[i], want.Manifests[i])
			}
		}
		if !maps.Equal(got.Annotations, want.Annotations) || got.SchemaVersion != want.SchemaVersion {
			t.Errorf("decodeIndex(%q): header %+v, want %+v", in, got, want)
		}
	}
}

// decodeEntry gives what json.Unmarshal gives, for the shapes it reads by
// hand and the ones it hands over.
func FuzzDecodeEntry(f *testing.F) {
	d := digest.FromString("x").String()
	for _, seed := range []string{
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + d + `","size":480,"annotations":{"a":"b","c":""}}`,
		`{ "size" : -0 , "annotations" : { } }`,
		`{}`, `{"size":01}`, `{"size":1e3}`, `{"size":1.5}`, `{"size":-}`, `{"size":99999999999999999999}`,
		`{"digest":"a\"b"}`, `{"digest":"é"}`, `{"digest":null}`, `{"annotations":null}`,
		`{"annotations":{"a":"1"},"annotations":{"b":"2"}}`, `{"size":1,"size":2}`,
		`{"MediaType":"x"}`, `{"platform":{"os":"linux"}}`, `{"urls":["u"]}`, `{"x":1}`,
		`{"size":1,}`, `{"size":1`, `{"annotations":{"a":1}}`, `[]`, `null`, `{"size":1} x`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want, got ocispec.Descriptor
		wantErr := json.Unmarshal(raw, &want)
		err := decodeEntry(raw, &got)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeEntry(%q): error %v, json.Unmarshal: %v", raw, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeEntry(%q) = %+v, json.Unmarshal: %+v", raw, got, want)
		}
	})
}

// decodeIndex never panics on a damaged file and, when it accepts one,
// reads the entries json.Unmarshal reads.
func FuzzDecodeIndex(f *testing.F) {
	good, _ := json.MarshalIndent(rawTestIndex(), "", "  ")
	f.Add(good)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"size":1},{"size":2,"x":[1,{"y":"]"}]}]}`))
	f.Add([]byte(`{"manifests":[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, raws, err := decodeIndex(data)
		if err != nil {
			return
		}
		want := newIndex()
		if werr := json.Unmarshal(data, want); werr != nil {
			t.Fatalf("decodeIndex accepted %q, json.Unmarshal: %v", data, werr)
		}
		if len(raws) != len(got.Manifests) || !reflect.DeepEqual(got.Manifests, append([]ocispec.Descriptor{}, want.Manifests...)) {
			t.Fatalf("decodeIndex(%q) = %+v, json.Unmarshal: %+v", data, got.Manifests, want.Manifests)
		}
	})
}
