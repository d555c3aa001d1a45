package engine

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// mergeConfig as Docker's daemon: the options' KEY=value replaces the
// image's KEY in place and new keys are appended; a build's metadata step,
// whose environment is already the image's with the step's change and
// whose record nobody reads, takes it as given, without a copy, and the
// image's labels as they are.
func TestMergeConfigEnv(t *testing.T) {
	img := ocispec.ImageConfig{Env: []string{"PATH=/bin", "A=1", "B=2"}, Cmd: []string{"sh"},
		Labels: map[string]string{"l": "image"}}
	cfg := mergeConfig(img, ContainerCreateOptions{Env: []string{"B=override", "C=3"}, Labels: map[string]string{"m": "opt"}})
	want := []string{"PATH=/bin", "A=1", "B=override", "C=3"}
	if len(cfg.Env) != len(want) {
		t.Fatalf("Env = %q, want %q", cfg.Env, want)
	}
	for i := range want {
		if cfg.Env[i] != want[i] {
			t.Fatalf("Env = %q, want %q", cfg.Env, want)
		}
	}
	if img.Env[1] != "A=1" || img.Env[2] != "B=2" || len(img.Env) != 3 {
		t.Fatalf("the image's Env changed: %q", img.Env)
	}
	if cfg.Labels["l"] != "image" || cfg.Labels["m"] != "opt" || len(cfg.Labels) != 2 {
		t.Fatalf("Labels = %v", cfg.Labels)
	}
	if len(cfg.Cmd) != 1 || cfg.Cmd[0] != "sh" {
		t.Fatalf("Cmd = %q, want the image's", cfg.Cmd)
	}

	stepEnv := []string{"PATH=/bin", "A=1", "B=2", "D=4"}
	meta := mergeConfig(img, ContainerCreateOptions{Env: stepEnv, Cmd: []string{"/bin/sh", "-c", "#(nop) ENV D=4"}, metadataOnly: true})
	if len(meta.Env) != len(stepEnv) || &meta.Env[0] != &stepEnv[0] {
		t.Fatalf("a metadata step's Env = %q, want the step's own %q", meta.Env, stepEnv)
	}
	if len(meta.Labels) != 1 || meta.Labels["l"] != "image" {
		t.Fatalf("a metadata step's Labels = %v, want the image's", meta.Labels)
	}
}
