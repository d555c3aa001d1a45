package store

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The spliced encoding is json.Marshal's, byte for byte, through a build's
// sequence of configs and through the changes that break the shared prefix
// (another build, a changed entry, a time in another location, a shorter
// history, HTML characters json escapes).
func TestEncodeConfigSplicesHistory(t *testing.T) {
	var h configEncoder
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 123456789, time.UTC)
	cfg := ocispec.Image{Created: &t0, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("x")}}}
	check := func(what string, c ocispec.Image) {
		t.Helper()
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, release, err := h.encode(c, ExtConfig{})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
		}
		release()
	}
	check("no history", cfg)
	cfg.History = []ocispec.History{}
	check("empty history", cfg)
	for i := range 20 {
		ti := t0.Add(time.Duration(i) * time.Second)
		cfg.History = append(cfg.History, ocispec.History{Created: &ti, CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  ENV V%d=%d <&>", i, i), EmptyLayer: i%2 == 0})
		cfg.Config.Env = append(cfg.Config.Env, fmt.Sprintf("V%d=%d", i, i))
		check(fmt.Sprintf("step %d", i), cfg)
	}
	// The caller changes an entry it already passed: the kept copy is
	// not the caller's, so the change shows.
	changed := append([]ocispec.History(nil), cfg.History...)
	changed[5].Comment = "changed"
	check("changed entry", ocispec.Image{RootFS: cfg.RootFS, History: changed})
	*cfg.History[3].Created = cfg.History[3].Created.Add(time.Hour)
	check("changed time in place", cfg)
	moved := cfg.History[7].Created.In(time.FixedZone("X", 3600))
	cfg.History[7].Created = &moved
	check("time in another location", cfg)
	check("shorter", ocispec.Image{RootFS: cfg.RootFS, History: cfg.History[:4]})
	check("no created", ocispec.Image{RootFS: cfg.RootFS, History: []ocispec.History{{CreatedBy: "a"}, {Author: "b"}}})
	check("other build", ocispec.Image{RootFS: cfg.RootFS, History: []ocispec.History{{CreatedBy: "c"}}})
}

// A store that built a long history writes the same config bytes as one
// that never saw it: the image ID does not depend on what came before.
func TestEncodeConfigSameIDAfterOtherBuilds(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var hist []ocispec.History
	for i := range 5 {
		hist = append(hist, ocispec.History{CreatedBy: fmt.Sprintf("step %d", i)})
		if _, _, err := s.encodeConfig(ocispec.Image{History: hist}, ExtConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := ocispec.Image{History: []ocispec.History{{CreatedBy: "step 0"}, {CreatedBy: "other"}}}
	got, _, err := s.encodeConfig(cfg, ExtConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(cfg)
	if string(got) != string(want) {
		t.Fatalf("got %s, want %s", got, want)
	}
	ext := ExtConfig{Shell: []string{"/bin/bash", "-c"}}
	got, _, err = s.encodeConfig(cfg, ext)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = marshalConfig(cfg, ext)
	if string(got) != string(want) {
		t.Fatalf("with Docker's fields: got %s, want %s", got, want)
	}
}

// BenchmarkEncodeConfigHistory encodes the configs of a build of N ENV
// steps: the history part is copied, so each step costs about the bytes
// of its config, not an encoding of every entry.
func BenchmarkEncodeConfigHistory(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var h configEncoder
			t0 := time.Now()
			for b.Loop() {
				var cfg ocispec.Image
				for i := range n {
					ti := t0.Add(time.Duration(i))
					cfg.History = append(cfg.History, ocispec.History{Created: &ti, CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  ENV V%d=%d", i, i), EmptyLayer: true})
					cfg.Config.Env = append(cfg.Config.Env, fmt.Sprintf("V%d=%d", i, i))
					_, release, err := h.encode(cfg, ExtConfig{})
					if err != nil {
						b.Fatal(err)
					}
					release()
				}
			}
		})
	}
}

// The environment is spliced as the history is, and the result is
// marshalConfig's byte for byte, with and without Docker's fields, for a
// build's growing environment and for the shapes that break the shared
// prefix or need escaping: a variable set again in the middle, a shorter
// or empty environment, HTML characters, quotes, backslashes, control
// characters, invalid UTF-8, U+2028, non-ASCII text, the placeholders
// themselves as values and marker-like text in labels.
func TestEncodeConfigSplicesEnv(t *testing.T) {
	var h configEncoder
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 5, time.UTC)
	exts := map[string]ExtConfig{
		"plain":       {},
		"shell":       {Shell: []string{"/bin/bash", "-c"}},
		"healthcheck": {Healthcheck: &HealthConfig{Test: []string{"CMD", "true"}, Retries: 2}, OnBuild: []string{"RUN <x>"}},
	}
	for name, ext := range exts {
		check := encodeChecker(t, &h, ext, name)
		cfg := ocispec.Image{Created: &t0, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
			Config: ocispec.ImageConfig{Cmd: []string{"sh"}, Labels: map[string]string{
				"Env":  `"Env":["\u0000berth:env"]`,
				"hist": "\"history\":[{\"created_by\":\"\x00berth:history\"}]",
			}},
			RootFS: ocispec.RootFS{Type: "layers"}}
		check("no env", cfg)
		cfg.Config.Env = []string{}
		check("empty env", cfg)
		values := []string{"plain", "<&>", `quote " and \ backslash`, "tab\tnewline\n\x01", "\xff\xfe bad utf-8",
			"\u2028 sep", "héllo wörld ✓", envPlaceholder, histPlaceholder, ""}
		for i := range 30 {
			ti := t0.Add(time.Duration(i) * time.Millisecond)
			cfg.History = append(cfg.History, ocispec.History{Created: &ti, CreatedBy: "ENV " + values[i%len(values)], EmptyLayer: true})
			cfg.Config.Env = append(cfg.Config.Env, fmt.Sprintf("V%d=%s", i, values[i%len(values)]))
			check(fmt.Sprintf("step %d", i), cfg)
		}
		// The splice ran, rather than the plain encoding it falls back to.
		if len(h.env.items) != len(cfg.Config.Env) || len(h.hist.items) != len(cfg.History) {
			t.Fatalf("%s: the encoder kept %d variables and %d history entries, want %d and %d",
				name, len(h.env.items), len(h.hist.items), len(cfg.Config.Env), len(cfg.History))
		}
		replaced := slices.Clone(cfg.Config.Env)
		replaced[7] = "V7=again"
		check("replaced in the middle", ocispec.Image{Config: ocispec.ImageConfig{Env: replaced}, History: cfg.History})
		check("back to the build", cfg)
		check("shorter", ocispec.Image{Config: ocispec.ImageConfig{Env: cfg.Config.Env[:3]}})
		check("only history", ocispec.Image{History: cfg.History[:5]})
		check("only env", ocispec.Image{Config: ocispec.ImageConfig{Env: cfg.Config.Env[:5]}})
		check("other env", ocispec.Image{Config: ocispec.ImageConfig{Env: []string{"PATH=/bin", "A=<b>"}}})
	}
}

// A config's bytes stay as they were until its caller gives them back:
// the encoder writes the next config into another buffer meanwhile, and
// into the given-back one after.
func TestEncodeConfigBufferNotSharedUntilReleased(t *testing.T) {
	var h configEncoder
	cfg := func(n int) ocispec.Image {
		var c ocispec.Image
		for i := range n {
			c.Config.Env = append(c.Config.Env, fmt.Sprintf("V%d=%d", i, i))
			c.History = append(c.History, ocispec.History{CreatedBy: fmt.Sprintf("ENV V%d=%d", i, i)})
		}
		return c
	}
	first, releaseFirst, err := h.encode(cfg(50), ExtConfig{})
	if err != nil {
		t.Fatal(err)
	}
	kept := string(first)
	second, releaseSecond, err := h.encode(cfg(40), ExtConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != kept {
		t.Fatal("the second config was written over the first, which was not given back")
	}
	want, _ := json.Marshal(cfg(40))
	if string(second) != string(want) {
		t.Fatalf("second config:\n got %s\nwant %s", second, want)
	}
	releaseFirst()
	releaseSecond()
	third, releaseThird, err := h.encode(cfg(45), ExtConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer releaseThird()
	if want, _ := json.Marshal(cfg(45)); string(third) != string(want) {
		t.Fatalf("third config:\n got %s\nwant %s", third, want)
	}
	if &third[:1][0] != &first[:1][0] {
		t.Fatal("the third config did not reuse the larger buffer given back")
	}
}

// BenchmarkEncodeConfigStep is one step of a long build: the config of
// step N, whose environment and history are step N-1's with one entry
// more, encoded after step N-1's. What grows with N is the copy of the
// kept bytes and the check that the kept entries are the caller's; the
// encoding is of the new entries only (compare ns/op across N with the
// config's size, B/config).
func BenchmarkEncodeConfigStep(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var h configEncoder
			t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
			var cfg ocispec.Image
			entry := func(i int) {
				ti := t0.Add(time.Duration(i) * time.Millisecond)
				cfg.History = append(cfg.History, ocispec.History{Created: &ti, CreatedBy: fmt.Sprintf("/bin/sh -c #(nop)  ENV V%d=%d", i, i), EmptyLayer: true})
				cfg.Config.Env = append(cfg.Config.Env, fmt.Sprintf("V%d=%d", i, i))
			}
			for i := range n {
				entry(i)
			}
			base := len(cfg.History)
			size := 0
			for i := 0; b.Loop(); i++ {
				// Back to N entries now and then, so every step is about N.
				if i%100 == 0 {
					cfg.History, cfg.Config.Env = cfg.History[:base-1], cfg.Config.Env[:base-1]
				} else {
					cfg.History, cfg.Config.Env = cfg.History[:len(cfg.History)-1], cfg.Config.Env[:len(cfg.Config.Env)-1]
				}
				entry(base + i)
				data, release, err := h.encode(cfg, ExtConfig{})
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
				release()
			}
			b.ReportMetric(float64(size), "B/config")
		})
	}
}

// Builds in one daemon share the store's encoder: configs encoded at the
// same time each get their own bytes, the plain encoding's (run with -race).
func TestEncodeConfigConcurrent(t *testing.T) {
	var h configEncoder
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cfg ocispec.Image
			for i := range 60 {
				cfg.Config.Env = append(cfg.Config.Env, fmt.Sprintf("G%d_V%d=%d", g, i, i))
				cfg.History = append(cfg.History, ocispec.History{CreatedBy: fmt.Sprintf("ENV G%d_V%d=%d", g, i, i)})
				want, _ := json.Marshal(cfg)
				got, release, err := h.encode(cfg, ExtConfig{})
				if err == nil && string(got) != string(want) {
					err = fmt.Errorf("goroutine %d, step %d:\n got %s\nwant %s", g, i, got, want)
				}
				if release != nil {
					release()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Labels are spliced too, sorted as json.Marshal sorts a map's keys (by
// their bytes): a build's growing labels, keys that sort before and after
// the kept ones, a changed and a removed label (everything encoded again),
// escapes, HTML characters, non-ASCII keys, the placeholder as a key and a
// value, with and without Docker's fields; and with an environment and a
// history beside them.
func TestEncodeConfigSplicesLabels(t *testing.T) {
	var h configEncoder
	for _, ext := range []ExtConfig{{}, {Shell: []string{"/bin/bash", "-c"}}} {
		check := encodeChecker(t, &h, ext, "labels")
		cfg := ocispec.Image{Config: ocispec.ImageConfig{Cmd: []string{"sh"}}}
		keys := []string{"m", "a", "z", "B", "é", "org.opencontainers.image.title", "<&>", `q"uote`, "l10", "l2",
			labelsPlaceholder, "", "back\\slash", "ü"}
		labels := map[string]string{}
		for i, k := range keys {
			labels[k] = fmt.Sprintf("value %d <%s>", i, k)
			cfg.Config.Labels = maps.Clone(labels)
			check(fmt.Sprintf("label %d", i), cfg)
			cfg.Config.Env = append(cfg.Config.Env, fmt.Sprintf("V%d=%d", i, i))
			cfg.History = append(cfg.History, ocispec.History{CreatedBy: "LABEL " + k})
			check(fmt.Sprintf("label %d with env and history", i), cfg)
		}
		if len(h.labels.keys) != len(labels) {
			t.Fatalf("the encoder kept %d labels, want %d: the splice did not run", len(h.labels.keys), len(labels))
		}
		changed := maps.Clone(labels)
		changed["m"] = "changed"
		check("changed value", ocispec.Image{Config: ocispec.ImageConfig{Labels: changed}})
		delete(changed, "a")
		check("removed", ocispec.Image{Config: ocispec.ImageConfig{Labels: changed}})
		check("back to all", cfg)
		check("one", ocispec.Image{Config: ocispec.ImageConfig{Labels: map[string]string{"x": labelsPlaceholder}}})
		check("none", ocispec.Image{Config: ocispec.ImageConfig{Labels: map[string]string{}}})
	}
}

// encodeChecker returns a check that h encodes a config as marshalConfig
// does, byte for byte, and then gives the buffer back.
func encodeChecker(t *testing.T, h *configEncoder, ext ExtConfig, name string) func(what string, c ocispec.Image) {
	return func(what string, c ocispec.Image) {
		t.Helper()
		want, err := marshalConfig(c, ext)
		if err != nil {
			t.Fatal(err)
		}
		got, release, err := h.encode(c, ext)
		if err != nil {
			t.Fatalf("%s, %s: %v", name, what, err)
		}
		if string(got) != string(want) {
			t.Fatalf("%s, %s:\n got %s\nwant %s", name, what, got, want)
		}
		release()
	}
}
