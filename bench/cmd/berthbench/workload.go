//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// The commit workload: what a container wrote.
const (
	randomMiB  = 100
	smallFiles = 5000
	smallDirs  = 50
)

// writeTree writes the commit workload under root: randomMiB of random data
// in data/random.bin and smallFiles text files of 200 to 4,200 bytes in
// smallDirs directories under small/. The seed is fixed, so every run and
// every tool gets the same bytes. It returns the total file bytes.
func writeTree(root string) (int64, error) {
	rng := rand.New(rand.NewChaCha8([32]byte{'b', 'e', 'r', 't', 'h'}))
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		return 0, err
	}
	f, err := os.Create(filepath.Join(root, "data", "random.bin"))
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	chunk := make([]byte, 1<<20)
	var total int64
	for range randomMiB {
		for i := 0; i < len(chunk); i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8; j++ {
				chunk[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := w.Write(chunk); err != nil {
			f.Close()
			return 0, err
		}
		total += int64(len(chunk))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	words := []string{"alpha", "beta", "redis", "server", "config", "usr", "lib", "the", "musl", "\n"}
	var body strings.Builder
	for i := range smallFiles {
		body.Reset()
		for n := 200 + rng.IntN(4000); body.Len() < n; {
			body.WriteString(words[rng.IntN(len(words))])
			body.WriteByte(' ')
		}
		p := filepath.Join(root, "small", fmt.Sprintf("d%02d", i%smallDirs), fmt.Sprintf("f%04d.txt", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(p, []byte(body.String()), 0o644); err != nil {
			return 0, err
		}
		total += int64(body.Len())
	}
	return total, nil
}

// tarTree writes root's contents as an uncompressed tar, names relative to
// root, for feeding into a container's `tar -x -C /`.
func tarTree(root, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		// Streamed: this process stays small, and its peak is what the
		// kernel would charge to a child forked before exec.
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Dockerfiles: a 3-step one (the notes' shape: FROM, RUN, CMD), a 10-step one
// mixing RUN, ENV, COPY, WORKDIR and CMD, and N `RUN true` steps for the
// per-step slope.
const dockerfile3 = `FROM busybox
RUN echo hello > /hello.txt
CMD ["cat", "/hello.txt"]
`

const dockerfile10 = `FROM busybox
ENV APP_HOME=/app MODE=bench
WORKDIR /app
COPY app.sh /app/app.sh
RUN chmod +x /app/app.sh && echo built > /app/built.txt
ENV GREETING=hello
COPY config/ /etc/app/
RUN cat /etc/app/a.conf /etc/app/b.conf > /app/all.conf
RUN /app/app.sh > /app/out.txt
CMD ["/app/app.sh"]
`

func dockerfileRunTrue(n int) string {
	return "FROM busybox\n" + strings.Repeat("RUN true\n", n)
}

// writeContexts writes the build contexts and returns their directories.
func (e *Env) writeContexts(stepCounts []int) (map[string]string, error) {
	ctxs := map[string]map[string]string{
		"build3":  {"Dockerfile": dockerfile3},
		"build10": {"Dockerfile": dockerfile10, "app.sh": "#!/bin/sh\necho \"$GREETING from $MODE in $APP_HOME\"\n", "config/a.conf": "a = 1\n", "config/b.conf": "b = 2\n"},
	}
	for _, n := range stepCounts {
		ctxs[fmt.Sprintf("runstep%d", n)] = map[string]string{"Dockerfile": dockerfileRunTrue(n)}
	}
	dirs := map[string]string{}
	for name, files := range ctxs {
		dir := e.path("ctx", name)
		for rel, content := range files {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			mode := os.FileMode(0o644)
			if strings.HasSuffix(rel, ".sh") {
				mode = 0o755
			}
			if err := os.WriteFile(p, []byte(content), mode); err != nil {
				return nil, err
			}
		}
		dirs[name] = dir
	}
	return dirs, nil
}
