package store

// Benchmarks of a container record's life in the store, the part of
// `berth run --rm` and of every build step that is the store's: write the
// record at create, lock-read-write it at start and at the exit, remove it
// (rename away, files deleted in the background). No root needed.
//
//	go test -run '^$' -bench 'Container' -benchmem ./engine/store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchContainer is a record the size of a build step's (an image's
// environment, a command) and its snapshot's directories.
func benchContainer(tb testing.TB, s *Store) *Container {
	tb.Helper()
	c := &Container{ID: RandomID(), Name: "bench_" + RandomID()[:8], Created: time.Now(), Purpose: "build",
		Image: "sha256:" + RandomID(), LayerChainIDs: []string{"sha256:" + RandomID()},
		Config: ContainerConfig{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cmd: []string{"/bin/sh", "-c", "true"}, Hostname: "0123456789ab"},
		Host: HostConfig{NetworkMode: "host"}, State: ContainerState{Status: StatusCreated}}
	if err := s.PutContainer(c); err != nil {
		tb.Fatal(err)
	}
	dir := s.ContainerDir(c.ID)
	for _, d := range []string{"upper", "work/work", "merged", "l"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for _, f := range []string{"hostname", "hosts", "resolv.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return c
}

// BenchmarkContainerRecordLife is create, start and exit of one
// container's record, and its removal, as the store sees them.
func BenchmarkContainerRecordLife(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := benchContainer(b, s)
		for _, st := range []string{StatusRunning, StatusExited} {
			if _, err := s.UpdateContainer(c.ID, func(c *Container) error { c.State.Status = st; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.DeleteContainer(c.ID); err != nil {
			b.Fatal(err)
		}
	}
	s.trash.Wait()
}

// BenchmarkDeleteContainer is the removal on the caller's path (the
// rename) and, with "with-files", the background deletion waited for.
func BenchmarkDeleteContainer(b *testing.B) {
	for _, wait := range []bool{false, true} {
		name := "caller"
		if wait {
			name = "with-files"
		}
		b.Run(name, func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := benchContainer(b, s)
				s.trash.Wait()
				b.StartTimer()
				if err := s.DeleteContainer(c.ID); err != nil {
					b.Fatal(err)
				}
				if wait {
					s.trash.Wait()
				}
			}
		})
	}
}

// BenchmarkContainerNames is what every create reads to keep names unique,
// with 100 containers in the store, against reading the whole records.
func BenchmarkContainerNames(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for range 100 {
		benchContainer(b, s)
	}
	b.Run("names", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.ContainerNames(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("records", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := s.Containers(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClaimName is what every create (run, a build step) does to
// keep names unique: claim a free name under the store's lock, and find
// a container by its name (inspect, rm, start), at 10, 1,000 and 10,000
// containers. Both are one entry and at most one record, so the figures
// do not grow with the store; the claim used to read every record.
func BenchmarkClaimName(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		var last string
		for i := range n {
			c := &Container{ID: RandomID(), Name: fmt.Sprintf("box_%d", i), Created: time.Now()}
			if _, err := s.ClaimContainerName(c.Name, c.ID); err != nil {
				b.Fatal(err)
			}
			if err := s.PutContainer(c); err != nil {
				b.Fatal(err)
			}
			last = c.Name
		}
		b.Run(fmt.Sprintf("claim/%d", n), func(b *testing.B) {
			id := RandomID()
			for i := 0; i < b.N; i++ {
				name := "fresh_" + strconv.Itoa(i)
				unlock, err := s.Lock()
				if err != nil {
					b.Fatal(err)
				}
				if holder, err := s.ClaimContainerName(name, id); err != nil || holder != "" {
					b.Fatal(holder, err)
				}
				unlock()
				if err := s.ReleaseContainerName(name, id); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("lookup/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.Container(last); err != nil {
					b.Fatal(err)
				}
			}
		})
		s.Close()
	}
}

// BenchmarkPutContainerRecord rewrites a running container's record: a
// kept container's is renamed over the previous one, which makes ext4
// start its writeback (auto_da_alloc); a discarded one's (a build step's,
// a --rm container's) is exchanged with it and the old one unlinked
// (writeDiscardedRecord).
func BenchmarkPutContainerRecord(b *testing.B) {
	for _, purpose := range []string{"run", "build"} {
		b.Run(map[string]string{"run": "kept", "build": "discarded"}[purpose], func(b *testing.B) {
			s, err := Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c := benchContainer(b, s)
			c.Purpose, c.State.Status = purpose, StatusRunning
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.PutContainer(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
