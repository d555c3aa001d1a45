package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// scanTestIndex is an index as Berth writes it: untagged and tagged
// entries, sorted, with image IDs.
func scanTestIndex(n int) *ocispec.Index {
	idx := newIndex()
	for i := range n {
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint("m", i)), Size: int64(400 + i),
			Annotations: map[string]string{AnnotationID: digest.FromString(fmt.Sprint("cfg", i)).String(), AnnotationSize: "4000"}}
		if i%3 == 1 {
			d.Annotations[ocispec.AnnotationRefName] = fmt.Sprintf("docker.io/library/img%d:latest", i)
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	return idx
}

// wantSummaries checks the raw view's summaries against decodeIndex.
func wantSummaries(t *testing.T, data []byte, v *rawView) {
	t.Helper()
	idx, _, err := decodeIndex(data)
	if err != nil {
		t.Fatalf("scanIndex accepted %q, decodeIndex: %v", data, err)
	}
	if len(idx.Manifests) != len(v.sums) {
		t.Fatalf("scanIndex(%q): %d entries, decodeIndex %d", data, len(v.sums), len(idx.Manifests))
	}
	for i, d := range idx.Manifests {
		e := v.sums[i]
		if e.digest != d.Digest.String() || e.ref != d.Annotations[refKey] || e.id != d.Annotations[idKey] {
			t.Fatalf("scanIndex(%q) entry %d = %+v, decoded %+v", data, i, e, d)
		}
		got, err := v.entry(i)
		if err != nil || got.Digest != d.Digest {
			t.Fatalf("entry %d decodes to %+v (%v), want %+v", i, got, err, d)
		}
	}
}

// The raw view summarises what decodeIndex reads, or declines: files
// another tool wrote, damaged files, escapes, and entries whose fields a
// summary could misread.
func TestScanIndexHostile(t *testing.T) {
	good, _ := json.MarshalIndent(sortedCopy(scanTestIndex(7)), "", "  ")
	d0, d1 := digest.FromString("a").String(), digest.FromString("b").String()
	ref := `"org.opencontainers.image.ref.name"`
	for name, c := range map[string]struct {
		text      string
		ok, canon bool
	}{
		"berth":       {string(good), true, true},
		"empty":       {`{"schemaVersion":2,"manifests":[]}`, true, false},
		"minified":    {`{"schemaVersion":2,"manifests":[{"digest":"` + d1 + `","annotations":{` + ref + `:"b:1"}},{"digest":"` + d0 + `"}]}`, true, false},
		"whitespace":  {"{\r\n\t\"manifests\" :\t[ {\"digest\"\n:\t\"" + d0 + "\" , \"annotations\" : { " + ref + " : \"x:1\" } } \n] }", true, false},
		"unsorted":    {strings.Replace(string(good), "\"manifests\": [", "\"manifests\": [\n    {\n      \"digest\": \""+d1+"\"\n    },", 1), true, false},
		"dup names":   {`{"manifests":[{"digest":"` + d0 + `","annotations":{` + ref + `:"a:1",` + ref + `:"a:2"}}]}`, true, false},
		"dup digest":  {`{"manifests":[{"digest":"` + d0 + `","digest":"` + d1 + `"}]}`, true, false},
		"dup ann":     {`{"manifests":[{"digest":"` + d0 + `","annotations":{"a":"1"},"annotations":{` + ref + `:"z:1"}}]}`, true, false},
		"cased field": {`{"manifests":[{"digest":"` + d0 + `","Digest":"` + d1 + `"}]}`, true, false},
		"nested":      {`{"manifests":[{"digest":"` + d0 + `","x":{"annotations":{` + ref + `:"n:1"}},"platform":{"os":"linux","digest":"q"}}]}`, true, false},
		"no digest":   {`{"manifests":[{"size":1}]}`, true, false},
		"other keys":  {`{"manifests":[{"digest":"` + d0 + `"}],"annotations":{"digest":"x"},"schemaVersion":2}`, true, false},
		"escape":      {`{"manifests":[{"digest":"` + d0 + `","annotations":{` + ref + `:"a\u003a1"}}]}`, false, false},
		"truncated":   {string(good[:len(good)/2]), false, false},
		"no array":    {`{"schemaVersion":2}`, false, false},
		"not object":  {`[{"digest":"` + d0 + `"}]`, false, false},
		"number ref":  {`{"manifests":[{"digest":"` + d0 + `","annotations":{` + ref + `:5}}]}`, false, false},
		"bad entry":   {`{"manifests":[{"digest":"` + d0 + `"},{"digest":}]}`, false, false},
		"garbage":     {`{"manifests":[{"digest":"` + d0 + `"} x]}`, false, false},
		"two arrays":  {`{"manifests":[{"digest":"` + d0 + `"}],"manifests":[{"digest":"` + d1 + `"}]}`, true, false},
	} {
		t.Run(name, func(t *testing.T) {
			v, ok := scanIndex(c.text)
			if ok != c.ok {
				t.Fatalf("scanIndex ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			if v.canonical != c.canon {
				t.Fatalf("canonical = %v, want %v", v.canonical, c.canon)
			}
			if name == "two arrays" {
				// decodeIndex refuses it; the raw view must not be
				// trusted to append to it (canonical is false) and a
				// lookup finds only what the first array lists.
				return
			}
			wantSummaries(t, []byte(c.text), v)
		})
	}
}

// Appending through the raw view writes what writeIndex writes, wherever
// the new entries sort: first, between, last, beside an equal key.
func TestRawAppendMatchesWriteIndex(t *testing.T) {
	base := scanTestIndex(9)
	file, _, _, err := encodeIndex(sortedCopy(base), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := scanIndex(string(file))
	if !ok || !v.canonical {
		t.Fatalf("Berth's own file is not canonical (ok %v)", ok)
	}
	entry := func(seed, ref string) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(seed), Size: 1,
			Annotations: map[string]string{AnnotationID: digest.FromString("c" + seed).String()}}
		if ref != "" {
			d.Annotations[ocispec.AnnotationRefName] = ref
		}
		return d
	}
	for name, add := range map[string][]ocispec.Descriptor{
		"untagged":   {entry("u", "")},
		"first name": {entry("f", "docker.io/aaa/first:1")},
		"last name":  {entry("l", "docker.io/zzz/last:1")},
		"between":    {entry("b", "docker.io/library/img4:latest0")},
		"equal key":  {base.Manifests[1]},
		"several":    {entry("z", "docker.io/zzz/last:1"), entry("u", ""), entry("a", "docker.io/aaa/first:1"), entry("v", "")},
		"none":       nil,
	} {
		t.Run(name, func(t *testing.T) {
			parts, ok, err := v.insert(add)
			if err != nil || !ok {
				t.Fatalf("insert: ok %v, %v", ok, err)
			}
			got := []byte(strings.Join(parts, ""))
			want := sortedCopy(&ocispec.Index{Versioned: base.Versioned, MediaType: base.MediaType, Manifests: append(append([]ocispec.Descriptor{}, base.Manifests...), add...)})
			wantData, err := json.MarshalIndent(want, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantData) {
				t.Fatalf("raw insert differs from writeIndex:\n%s\nwant:\n%s", got, wantData)
			}
		})
	}
}

// sortedCopy is idx sorted as writeIndex sorts it.
func sortedCopy(idx *ocispec.Index) *ocispec.Index {
	out := cloneIndex(idx)
	sums := make([]entrySum, len(out.Manifests))
	for i, d := range out.Manifests {
		sums[i] = entrySum{digest: d.Digest.String(), ref: d.Annotations[refKey]}
	}
	sorted := make([]ocispec.Descriptor, 0, len(sums))
	for _, i := range sortedOrder(sums) {
		sorted = append(sorted, out.Manifests[i])
	}
	out.Manifests = sorted
	return out
}

// A build's use of the index (its base by name, a cache probe's image by
// ID, a new image listed in a batch) reads no entry it does not return:
// the index is never parsed, and the file written is the one the parsed
// way writes.
func TestBuildStepDoesNotParseIndex(t *testing.T) {
	bs := seedIDStore(t, 30)
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base, err := s.Image(bs.tags[10])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Image(base.ID.String()); err != nil {
		t.Fatal(err)
	}
	end := s.BeginBatch()
	img, err := s.PutImage(ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, Config: ocispec.ImageConfig{Env: []string{"PROBE=1"}}},
		nil, ImageOptions{Parent: base.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	if n := s.indexParses.Load(); n != 0 {
		t.Fatalf("index.json parsed %d times, want 0", n)
	}
	got, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	idx, err := s.readIndex() // parses the file written
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(sortedCopy(idx), "", "  ")
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("index.json is not what writeIndex writes (%v):\n%s", err, got)
	}
	again, err := s.Image(img.ID.String())
	if err != nil || again.Parent != base.ID || len(again.Refs) != 0 {
		t.Fatalf("new image read back: %+v, %v", again, err)
	}
	named, err := s.Image(bs.tags[10])
	if err != nil || named.ID != base.ID || strings.Join(named.Refs, ",") != strings.Join(base.Refs, ",") {
		t.Fatalf("base read back: %+v, %v", named, err)
	}
}

// seedIDStore is seedBenchStore with the image ID annotation on every
// entry, as PutImage writes it.
func seedIDStore(t testing.TB, n int) *benchStore {
	bs := seedBenchStore(t, n)
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.UpdateIndex(func(idx *ocispec.Index) error {
		for i, d := range idx.Manifests {
			img, err := s.loadImage(d)
			if err != nil {
				return err
			}
			idx.Manifests[i].Annotations[AnnotationID] = img.ID.String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// An image listed under two names, and as two manifests of one config,
// is found whole by the raw view: every name, every manifest.
func TestRawLookupFindsEveryName(t *testing.T) {
	bs := seedIDStore(t, 12)
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Image(bs.ids[5].String())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"extra/one:1", "extra/two:2"} {
		if _, err := s.Tag(img.ID, name); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	for _, q := range []string{"extra/one:1", img.ID.String(), "extra/two:2"} {
		s, err := Open(bs.root) // a new process: nothing parsed yet
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Image(q)
		parses := s.indexParses.Load()
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != img.ID || strings.Join(got.Refs, ",") != "docker.io/extra/one:1,docker.io/extra/two:2" {
			t.Fatalf("Image(%q) = %s %v", q, got.ID, got.Refs)
		}
		if parses != 0 {
			t.Fatalf("Image(%q) parsed index.json %d times", q, parses)
		}
	}
}

// FuzzScanIndex: the raw view never panics and, when it accepts a file
// decodeIndex accepts, summarises the same entries.
func FuzzScanIndex(f *testing.F) {
	good, _ := json.MarshalIndent(sortedCopy(scanTestIndex(4)), "", "  ")
	f.Add(good)
	f.Add([]byte(`{"manifests":[{"digest":"a","annotations":{"org.berthkit.image.id":"b"}},{"Digest":"c"}]}`))
	f.Add([]byte(`{"manifests":[{"digest":"a","x":[{"digest":"]"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := scanIndex(string(data))
		if !ok {
			return
		}
		if _, _, err := decodeIndex(data); err != nil {
			return // damaged: a lookup may answer, the parsed way refuses to write
		}
		wantSummaries(t, data, v)
		for _, e := range v.sums {
			if sum, ok := scanLaidOut(string(data), e.start); ok {
				agree(t, "fuzz", string(data[e.start:]), shift(sum, -e.start))
			}
		}
		if v.canonical {
			if _, _, err := v.insert([]ocispec.Descriptor{{Digest: digest.FromString("n")}}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// BenchmarkBuildIndexWork is the index work of an uncached one-step
// build, in a new process each time: open the store, find the base by
// name and the cache probe's image by ID, list one new image in a batch,
// close. Its cost should not depend on how many images the store holds:
//
//	go test -run '^$' -bench BuildIndexWork -benchtime 50x ./engine/store
func BenchmarkBuildIndexWork(b *testing.B) {
	for _, n := range []int{300, 1000} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			bs := seedIDStore(b, n)
			base, probe := bs.tags[n/2], bs.ids[n/3].String()
			i := 0
			for b.Loop() {
				i++
				if err := buildIndexWork(bs.root, base, probe, i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func buildIndexWork(root, base, probe string, i int) error {
	s, err := Open(root)
	if err != nil {
		return err
	}
	defer s.Close()
	img, err := s.Image(base)
	if err != nil {
		return err
	}
	if _, err := s.Image(probe); err != nil {
		return err
	}
	end := s.BeginBatch()
	cfg := img.Config
	cfg.Config.Env = append(append([]string(nil), cfg.Config.Env...), fmt.Sprintf("PROBE=%d", i))
	if _, err := s.PutImage(cfg, img.Manifest.Layers, ImageOptions{Parent: img.ID}); err != nil {
		end()
		return err
	}
	return end()
}

// A batch in a store whose index this process never parsed (the raw view
// answered every lookup) sizes its rewrites by the entries the raw view
// counted, as by the parsed index's: 300 images added to 600 rewrite
// index.json twice (at 150 pending, a quarter of the index, and at the
// end), not at every 64th image.
func TestRawBatchWritesTheIndexLogarithmically(t *testing.T) {
	bs := seedIDStore(t, 600)
	s, err := Open(bs.root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	img, err := s.Image(bs.tags[100])
	if err != nil {
		t.Fatal(err)
	}
	end := s.BeginBatch()
	for i := range 300 {
		img = batchImage(t, s, img, i)
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	if writes := s.indexWrites.Load(); writes != 2 {
		t.Errorf("300 images in a batch rewrote index.json %d times, want 2", writes)
	}
	if n := s.indexParses.Load(); n != 0 {
		t.Errorf("index.json parsed %d times, want 0", n)
	}
	if n := listedOnDisk(t, s); n != 900 {
		t.Errorf("index.json lists %d images after the batch, want 900", n)
	}
}
