//go:build linux

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFiles(root string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dockerArchive makes a docker-archive whose one gzip layer holds busybox
// and a hard link to it with the given mode.
func dockerArchive(t *testing.T, linkMode int64) string {
	t.Helper()
	var layer bytes.Buffer
	zw := gzip.NewWriter(&layer)
	tw := tar.NewWriter(zw)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}))
	must(tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: 2}))
	_, err := tw.Write([]byte("bb"))
	must(err)
	must(tw.WriteHeader(&tar.Header{Name: "bin/true", Typeflag: tar.TypeLink, Linkname: "bin/busybox", Mode: linkMode}))
	must(tw.Close())
	must(zw.Close())
	manifest, _ := json.Marshal([]map[string]any{{"Config": "blobs/sha256/c", "RepoTags": []string{"busybox:latest"}, "Layers": []string{"blobs/sha256/l"}}})
	path := filepath.Join(t.TempDir(), "bb.tar")
	f, err := os.Create(path)
	must(err)
	outer := tar.NewWriter(f)
	for name, data := range map[string][]byte{"manifest.json": manifest, "blobs/sha256/l": layer.Bytes(), "blobs/sha256/c": []byte("{}")} {
		must(outer.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}))
		_, err := outer.Write(data)
		must(err)
	}
	must(outer.Close())
	must(f.Close())
	return path
}

func TestZeroModeHardlinks(t *testing.T) {
	if n, err := zeroModeHardlinks(dockerArchive(t, 0)); err != nil || n != 1 {
		t.Errorf("link with mode 0: %d, %v; want 1", n, err)
	}
	if n, err := zeroModeHardlinks(dockerArchive(t, 0o755)); err != nil || n != 0 {
		t.Errorf("link with mode 0755: %d, %v; want 0", n, err)
	}
	empty := filepath.Join(t.TempDir(), "empty.tar")
	os.WriteFile(empty, make([]byte, 1024), 0o644)
	if _, err := zeroModeHardlinks(empty); err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Errorf("archive without a manifest: %v", err)
	}
}

func TestEditSpec(t *testing.T) {
	spec := `{"ociVersion":"1.0.2","process":{"terminal":true,"args":["sh"],"env":["PATH=/bin"]},
"root":{"path":"rootfs","readonly":true},"hostname":"runc",
"linux":{"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]}}`
	file := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(file, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := editSpec(file); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)
	var got struct {
		Process struct {
			Terminal bool
			Args     []string
			Env      []string
		}
		Root  struct{ Readonly bool }
		Linux struct{ Namespaces []struct{ Type string } }
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	var nss []string
	for _, ns := range got.Linux.Namespaces {
		nss = append(nss, ns.Type)
	}
	if got.Process.Terminal || !reflect.DeepEqual(got.Process.Args, []string{"true"}) || got.Root.Readonly ||
		!reflect.DeepEqual(nss, []string{"pid", "ipc", "uts", "mount"}) || !reflect.DeepEqual(got.Process.Env, []string{"PATH=/bin"}) {
		t.Errorf("edited spec: %s", data)
	}
	if err := os.WriteFile(file, []byte(`{"ociVersion":"1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := editSpec(file); err == nil {
		t.Error("a file that is not a runtime spec must be refused")
	}
}

func TestLayoutRef(t *testing.T) {
	dir := t.TempDir()
	index := `{"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"127.0.0.1:5000/bench/commit:latest"}},
{"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/bench-commit:latest"}},
{"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/busybox:latest"}}]}`
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	for want, name := range map[string]string{"docker.io/library/bench-commit:latest": "bench-commit", "docker.io/library/busybox:latest": "busybox"} {
		if got, err := layoutRef(dir, name); err != nil || got != want {
			t.Errorf("layoutRef(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := layoutRef(dir, "alpine"); err == nil {
		t.Error("an absent image must be an error")
	}
}

func TestTarTreeKeepsEveryFile(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{"data/random.bin": "\x00\x01\x02", "small/d00/f0000.txt": "alpha beta\n"}
	if err := writeFiles(root, files); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "tree.tar")
	if err := tarTree(root, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	var dirs []string
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs = append(dirs, hdr.Name)
			continue
		}
		var buf bytes.Buffer
		buf.ReadFrom(tr)
		got[hdr.Name] = buf.String()
	}
	if !reflect.DeepEqual(got, files) {
		t.Errorf("files in the tar = %q, want %q", got, files)
	}
	if !reflect.DeepEqual(dirs, []string{"data/", "small/", "small/d00/"}) {
		t.Errorf("dirs = %q", dirs)
	}
}

func TestDockerfilesHaveTheirStepCounts(t *testing.T) {
	count := func(df string) int { return len(strings.Split(strings.TrimSpace(df), "\n")) }
	if count(dockerfile3) != 3 || count(dockerfile10) != 10 || count(dockerfileRunTrue(5)) != 6 {
		t.Errorf("step counts: %d, %d, %d", count(dockerfile3), count(dockerfile10), count(dockerfileRunTrue(5)))
	}
	for _, kw := range []string{"RUN", "ENV", "COPY", "WORKDIR", "CMD"} {
		if !strings.Contains(dockerfile10, "\n"+kw+" ") {
			t.Errorf("the 10-step Dockerfile has no %s", kw)
		}
	}
}
