package store

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// batchImage is step i of a build made only of ENV lines: no layers, a
// config that holds every step so far.
func batchImage(t *testing.T, s *Store, parent *Image, i int) *Image {
	t.Helper()
	var cfg ocispec.Image
	if parent != nil {
		cfg = parent.Config
	}
	now := time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC)
	cfg.Created = &now
	cfg.Platform = ocispec.Platform{OS: "linux", Architecture: "amd64"}
	cfg.Config.Env = append(append([]string{}, cfg.Config.Env...), fmt.Sprintf("V%d=value%d", i, i))
	cfg.History = append(append([]ocispec.History{}, cfg.History...), ocispec.History{Created: &now, CreatedBy: fmt.Sprintf("ENV V%d", i), EmptyLayer: true})
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}}
	opts := ImageOptions{}
	if parent != nil {
		opts.Parent = parent.ID
	}
	img, err := s.PutImage(cfg, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func listedOnDisk(t *testing.T, s *Store) int {
	t.Helper()
	data, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	return len(idx.Manifests)
}

// A build stores an image per step. Without a batch that is one rewrite of
// index.json per image (the whole index each time: the square of the
// steps in bytes); in a batch the rewrites grow with the logarithm of the
// steps, and every image is listed when the batch ends.
func TestBatchWritesTheIndexLogarithmically(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const steps = 1000
	end := s.BeginBatch()
	var img *Image
	for i := range steps {
		img = batchImage(t, s, img, i)
		if i == 0 {
			// Pending, yet found by this process.
			got, err := s.Image(img.ID.String())
			if err != nil || got.ID != img.ID {
				t.Fatalf("pending image not found by ID: %v", err)
			}
		}
	}
	if got, err := s.Image(img.ID.String()); err != nil || len(got.Config.Config.Env) != steps {
		t.Fatalf("last image: %v, %d env entries", err, len(got.Config.Config.Env))
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	writes := s.indexWrites.Load()
	// 64 pending first, then a quarter of the index each time: about
	// 4·ln(1000/64) + 1 ≈ 12 rewrites; 30 leaves room without allowing
	// anything like one per step.
	if writes > 30 {
		t.Errorf("%d images in a batch rewrote index.json %d times, want at most 30", steps, writes)
	}
	if n := listedOnDisk(t, s); n != steps {
		t.Errorf("index.json lists %d images after the batch, want %d", n, steps)
	}
	if s.unsynced.Load() {
		t.Error("blobs left unsynced after the index was written")
	}

	// Outside a batch, each image is listed at once.
	before := s.indexWrites.Load()
	batchImage(t, s, img, steps)
	if got := s.indexWrites.Load() - before; got != 1 {
		t.Errorf("an image outside a batch rewrote index.json %d times, want 1", got)
	}
	if n := listedOnDisk(t, s); n != steps+1 {
		t.Errorf("index.json lists %d images, want %d", n, steps+1)
	}
}

// Pending images reach the disk with any other index write (a tag), and a
// nested batch does not end the outer one.
func TestBatchPendingWrittenByTagAndNesting(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	endOuter := s.BeginBatch()
	endInner := s.BeginBatch()
	a := batchImage(t, s, nil, 0)
	b := batchImage(t, s, a, 1)
	if err := endInner(); err != nil {
		t.Fatal(err)
	}
	if n := listedOnDisk(t, s); n != 0 {
		t.Fatalf("inner batch end wrote the index: %d listed", n)
	}
	if _, err := s.Tag(b.ID, "docker.io/library/many:latest"); err != nil {
		t.Fatal(err)
	}
	// a, and b under its name.
	if n := listedOnDisk(t, s); n != 2 {
		t.Fatalf("after a tag, index.json lists %d entries, want 2", n)
	}
	if err := endOuter(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, err := again.Image("many"); err != nil || got.ID != b.ID {
		t.Fatalf("another handle finds many as %v (%v), want %s", got, err, b.ID)
	}
	if _, err := again.Image(a.ID.String()); err != nil {
		t.Fatalf("another handle does not find the intermediate image: %v", err)
	}
}

// One pass reads a config and Docker's fields beside OCI's, as two did.
func TestUnmarshalConfigReadsOCIAndDockerFields(t *testing.T) {
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := ocispec.Image{Created: &created, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:  ocispec.ImageConfig{Env: []string{"A=1"}, Cmd: []string{"sh"}, Labels: map[string]string{"k": "v"}},
		RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{}},
		History: []ocispec.History{{Created: &created, CreatedBy: "ENV A=1", EmptyLayer: true}}}
	ext := ExtConfig{Shell: []string{"/bin/bash", "-c"}, OnBuild: []string{"RUN true"},
		Healthcheck: &HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Retries: 3}}
	data, err := marshalConfig(cfg, ext)
	if err != nil {
		t.Fatal(err)
	}
	gotCfg, gotExt, err := unmarshalConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := marshalConfig(gotCfg, gotExt)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("config changed through unmarshalConfig:\n%s\n%s", data, again)
	}
	if gotCfg.Config.Env[0] != "A=1" || gotExt.Healthcheck == nil || gotExt.Healthcheck.Retries != 3 || gotExt.Shell[0] != "/bin/bash" {
		t.Errorf("fields lost: %+v %+v", gotCfg.Config, gotExt)
	}
	if _, _, err := unmarshalConfig([]byte("{not json")); err == nil {
		t.Error("a broken config parsed")
	}
}
