package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/opencontainers/go-digest"
)

// leftovers plants one of each thing a killed command can leave beside a
// sound image, and returns what FindGarbage must list.
func plantLeftovers(t *testing.T, s *store.Store) (want map[string]int) {
	t.Helper()
	_, err := s.PutBlobBytes([]byte("a blob a killed pull stored"))
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(s.Root(), "blobs", "sha256", "not-a-digest"), "stray")
	if err := os.MkdirAll(filepath.Join(s.LayersDir(), strings.Repeat("ab", 32)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.LayersDir(), ".tmp-rm-"+strings.Repeat("cd", 32), "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(s.Root(), ".tmp-index.json-123"), "{")
	mustWrite(t, filepath.Join(s.TmpDir(), "ingest-1"), "half")
	if err := s.CachePut(store.CacheEntry{Key: "/bin/sh -c gone", Image: digest.FromString("deleted image")}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(s.CacheDir(), "scratch", ".tmp-x.json-1"), "{")
	// cache: the entry and its copy in the parent's newest-entry index.
	return map[string]int{"blobs": 1, "stray": 1, "layers": 1, "temp": 4, "cache": 2}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func counts(g *store.Garbage) map[string]int {
	return map[string]int{"blobs": len(g.Blobs), "stray": len(g.Stray), "layers": len(g.Layers), "temp": len(g.Temp), "cache": len(g.Cache)}
}

// FindGarbage lists every kind of leftover and changes nothing; Repair
// removes exactly those, and the listed image stays whole.
func TestFindGarbageAndRepair(t *testing.T) {
	s := openStore(t)
	img := putImage(t, s, time.Unix(1, 0), "", makeLayer(t, map[string]string{"f": "1"}))
	if err := os.MkdirAll(s.LayerDir(img.ChainIDs()[0]), 0o755); err != nil {
		t.Fatal(err)
	}
	want := plantLeftovers(t, s)

	g, err := s.FindGarbage()
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(g); !mapsEqual(got, want) {
		t.Fatalf("FindGarbage found %v, want %v (%+v)", got, want, g)
	}
	if again, _ := s.FindGarbage(); !mapsEqual(counts(again), want) {
		t.Fatalf("FindGarbage changed the store: now %v", counts(again))
	}

	removed, err := s.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if got := counts(removed); !mapsEqual(got, want) {
		t.Fatalf("Repair removed %v, want %v", got, want)
	}
	if g, _ := s.FindGarbage(); !g.Empty() {
		t.Fatalf("left after Repair: %+v", g)
	}
	if err := store.Validate(s, img); err != nil {
		t.Fatalf("the image is damaged by Repair: %v", err)
	}
	if !s.HasLayerDir(img.ChainIDs()[0]) {
		t.Error("Repair removed the image's unpacked layer")
	}
}

func mapsEqual(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// Opening a store no other process has open removes the temp leftovers
// and says which.
func TestOpenRemovesTempLeftovers(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	plantLeftovers(t, s)
	s.Close()
	s, err = store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// tmp/, and .tmp- beside index.json and in layers/; the cache's
	// temp file is Repair's to find (a directory read per cache parent).
	if n := len(s.CleanedAtOpen()); n != 3 {
		t.Fatalf("Open removed %d temp entries, want 3: %v", n, s.CleanedAtOpen())
	}
	for _, p := range s.CleanedAtOpen() {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", p)
		}
	}
}

// While another berth process has the store open, temp entries may be
// live: neither FindGarbage nor Repair touches them.
func TestRepairLeavesTempWhileOthersActive(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustWrite(t, filepath.Join(s.TmpDir(), "ingest-live"), "being written")
	g, err := s.Repair()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Temp) != 0 || s.Alone() {
		t.Fatalf("Repair listed temp entries while another store was open: %v", g.Temp)
	}
	if _, err := os.Stat(filepath.Join(s.TmpDir(), "ingest-live")); err != nil {
		t.Fatalf("a live ingest file was removed: %v", err)
	}
}

// Deleting an image renames each unpacked layer away before removing it:
// the layer's own name never holds a partial layer.
func TestDeleteImageRemovesLayerDirsByRename(t *testing.T) {
	s := openStore(t)
	img := putImage(t, s, time.Unix(2, 0), "", makeLayer(t, map[string]string{"f": "1"}))
	dir := s.LayerDir(img.ChainIDs()[0])
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteImage(img.ID); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(s.LayersDir())
	if len(entries) != 0 {
		t.Fatalf("layers/ holds %v after the delete", entries)
	}
}

// endless is a source that never stops sending.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

// A source that sends more than it announced is cut off one byte past the
// announced size: it cannot fill the disk.
func TestPutBlobReadsNoMoreThanAnnounced(t *testing.T) {
	s := openStore(t)
	src := &endless{}
	_, _, err := s.PutBlob(src, digest.FromString("x"), 1000)
	if !errors.Is(err, store.ErrInvalidDigest) || !strings.Contains(err.Error(), "is longer than the 1000 bytes expected") {
		t.Fatalf("got %v", err)
	}
	if src.n > 1000+64<<10 {
		t.Fatalf("read %d bytes for a 1000-byte blob", src.n)
	}
	if entries, _ := os.ReadDir(s.TmpDir()); len(entries) != 0 {
		t.Fatalf("ingest files left: %v", entries)
	}
}

// VerifyBlob tells a damaged stored copy from a sound one.
func TestVerifyBlob(t *testing.T) {
	s := openStore(t)
	d, err := s.PutBlobBytes([]byte("sound"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyBlob(d, 5); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyBlob(d, 6); !errors.Is(err, store.ErrInvalidDigest) {
		t.Fatalf("wrong size: %v", err)
	}
	os.Chmod(s.BlobPath(d), 0o644)
	mustWrite(t, s.BlobPath(d), "sourd")
	if err := s.VerifyBlob(d, 5); !errors.Is(err, store.ErrInvalidDigest) {
		t.Fatalf("damaged copy: %v", err)
	}
}

// The decoders name the limit or the field that is wrong.
func TestDecodeRefusals(t *testing.T) {
	good := `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest.FromString("c").String() + `","size":1},"layers":[]}`
	cases := []struct {
		name, data, want string
		decode           func([]byte) error
	}{
		{"manifest over 4 MiB", `{"a":"` + strings.Repeat("x", store.MaxManifestSize) + `"}`, "over berth's limit of 4194304 bytes (4 MiB)", manifest},
		{"config over 8 MiB", `{"a":"` + strings.Repeat("x", store.MaxConfigSize) + `"}`, "over berth's limit of 8388608 bytes (8 MiB)", config},
		{"index over 4 MiB", `{"a":"` + strings.Repeat("x", store.MaxManifestSize) + `"}`, "over berth's limit of 4194304 bytes (4 MiB)", index},
		{"schema 1", `{"schemaVersion":1}`, "schemaVersion 1, not 2", manifest},
		{"config size over 8 MiB", strings.Replace(good, `"size":1`, `"size":8388609`, 1), "over berth's limit of 8388608 bytes (8 MiB)", manifest},
		{"index that is a manifest", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`, "not an index", index},
		{"config without os", `{"rootfs":{"type":"layers"}}`, "names no os", config},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.decode([]byte(c.data))
			if !errors.Is(err, store.ErrInvalidImage) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	if err := manifest([]byte(good)); err != nil {
		t.Fatalf("sound manifest: %v", err)
	}
}

func manifest(b []byte) error { _, err := store.DecodeManifest(b); return err }
func config(b []byte) error   { _, err := store.DecodeConfig(b); return err }
func index(b []byte) error    { _, err := store.DecodeIndex(b); return err }

// CheckLayer refuses an entry that climbs out of the root before anything
// is unpacked.
func TestCheckLayerRefusesUnsafeEntries(t *testing.T) {
	l := makeLayer(t, map[string]string{"../../etc/passwd": "x"})
	_, _, err := store.CheckLayer(bytes.NewReader(l.blob), "application/vnd.oci.image.layer.v1.tar+gzip")
	if !errors.Is(err, store.ErrInvalidImage) || !strings.Contains(err.Error(), "climbs out of the root") {
		t.Fatalf("got %v", err)
	}
	ok := makeLayer(t, map[string]string{"etc/passwd": "x"})
	n, diffID, err := store.CheckLayer(bytes.NewReader(ok.blob), "application/vnd.oci.image.layer.v1.tar+gzip")
	if err != nil || n != ok.size || diffID != ok.diffID {
		t.Fatalf("sound layer: %d %s %v", n, diffID, err)
	}
}
