package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// CacheEntry records that building Key on top of Parent produced Image. The
// classic builder's cache is exactly this: (parent image, instruction) →
// image. Key is the instruction's marker ("/bin/sh -c apk add --update redis",
// "/bin/sh -c #(nop)  CMD [\"redis-server\"]", "/bin/sh -c #(nop) COPY
// file:<sum> in /app"). The key is the whole of it: the rest of the run
// config (env, workdir, user, shell) is the parent image's, and build args
// are in a RUN's key (engine/build/cache, key.go), so nothing else is
// compared. (Entries written before carry an empty "config_sum", ignored.)
type CacheEntry struct {
	Parent  digest.Digest `json:"parent"`
	Key     string        `json:"key"`
	Image   digest.Digest `json:"image"`
	Created time.Time     `json:"created"`
	// Original is the Dockerfile text of the step ("RUN apk add --update redis").
	Original string `json:"original,omitempty"`
	// Sources maps COPY/ADD source paths to their content checksums, so a
	// miss can name the file that changed.
	Sources map[string]string `json:"sources,omitempty"`
	// Group is a coarser key the entry is also indexed under (a COPY's
	// instruction without its checksums), so a miss can find the last build
	// of the same COPY in one read (CacheNewest).
	Group string `json:"group,omitempty"`
}

// Index files beside the entries: the newest entry of a parent, and the
// newest of each group. They are copies of an entry, so they need no
// separate repair: a copy whose image is gone is dangling like the entry.
const (
	cacheNewestFile = "newest.idx"
	cacheIdxSuffix  = ".idx"
)

func cacheGroupFileName(group string) string {
	return "group-" + digest.FromString(group).Encoded() + cacheIdxSuffix
}

func (s *Store) cacheParentDir(parent digest.Digest) string {
	name := "scratch"
	if parent != "" {
		name = parent.Encoded()
	}
	return filepath.Join(s.CacheDir(), name)
}

// cacheFileName names an entry's file. The "\x00" once separated a config
// sum that was always empty; it stays so the entries of older stores are
// still found.
func cacheFileName(key string) string {
	return digest.FromString(key+"\x00").Encoded() + ".json"
}

// CacheGet returns the entry recorded for (parent, key). Whether its image
// is still in the store is the caller's to check.
func (s *Store) CacheGet(parent digest.Digest, key string) (*CacheEntry, bool) {
	e, ok := s.readCacheFile(filepath.Join(s.cacheParentDir(parent), cacheFileName(key)))
	if !ok || e.Key != key {
		return nil, false
	}
	return e, true
}

// CacheNewest returns the entry last recorded on parent, or with group set,
// the last one recorded with that group: one file read however many entries
// the parent has (a probe's miss explanation used to read them all, which
// made an uncached step slower with every build on the same base). ok is
// false when no index exists: nothing was built, or the entries predate the
// index (CacheEntries still lists them).
func (s *Store) CacheNewest(parent digest.Digest, group string) (*CacheEntry, bool) {
	name := cacheNewestFile
	if group != "" {
		name = cacheGroupFileName(group)
	}
	e, ok := s.readCacheFile(filepath.Join(s.cacheParentDir(parent), name))
	if !ok || e.Parent != parent || (group != "" && e.Group != group) {
		return nil, false
	}
	return e, true
}

// CacheFilesRead counts the cache files this Store has read, so tests can
// assert a lookup's cost in files rather than time.
func (s *Store) CacheFilesRead() int64 { return s.cacheReads.Load() }

func (s *Store) readCacheFile(path string) (*CacheEntry, bool) {
	s.cacheReads.Add(1)
	data, err := readFile(path)
	if err != nil {
		return nil, false
	}
	var e CacheEntry
	if json.Unmarshal(data, &e) != nil {
		return nil, false
	}
	return &e, true
}

// CachePut records an entry. A later build with the same key replaces it.
func (s *Store) CachePut(e CacheEntry) error {
	dir := s.cacheParentDir(e.Parent)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	if e.Created.IsZero() {
		e.Created = time.Now().UTC()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	// Renamed into place but not fsynced: an entry lost to a power cut only
	// costs a rebuild of that step, and a build step writes one per step.
	// The entry first, then the indexes that copy it: a crash in between
	// leaves an index naming an older entry, which only words a miss
	// differently.
	entry := filepath.Join(dir, cacheFileName(e.Key))
	if err := WriteFileReplace(entry, data, 0o600); err != nil {
		return err
	}
	if e.Group != "" {
		if err := copyCacheEntry(entry, filepath.Join(dir, cacheGroupFileName(e.Group)), data); err != nil {
			return err
		}
	}
	return copyCacheEntry(entry, filepath.Join(dir, cacheNewestFile), data)
}

// copyCacheEntry makes idx a copy of the entry just written (holding
// data). The first copy in a directory (every step of a build that makes
// new images) is a hard link: one link(2), no second file to create and
// write. The entry is never written in place (WriteFileReplace renames a
// new file over it), so the two names keep the same bytes whatever
// happens to either. An idx that exists is replaced by a rename, as before.
func copyCacheEntry(entry, idx string, data []byte) error {
	if err := os.Link(entry, idx); err == nil {
		return nil
	}
	return WriteFileReplace(idx, data, 0o600)
}

// CacheEntries lists what was built on top of parent, newest first, so a miss
// can say what differed.
func (s *Store) CacheEntries(parent digest.Digest) ([]CacheEntry, error) {
	dir := s.cacheParentDir(parent)
	names, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []CacheEntry
	for _, n := range names {
		if !strings.HasSuffix(n.Name(), ".json") || strings.HasPrefix(n.Name(), ".") {
			continue
		}
		if e, ok := s.readCacheFile(filepath.Join(dir, n.Name())); ok {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// CacheEntryCount counts the recorded entries (not their index copies),
// for `system df`.
func (s *Store) CacheEntryCount() int {
	n := 0
	parents, _ := os.ReadDir(s.CacheDir())
	for _, p := range parents {
		names, _ := os.ReadDir(filepath.Join(s.CacheDir(), p.Name()))
		for _, e := range names {
			if strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
	}
	return n
}

// danglingCache lists the cache files whose parent or image is gone, or
// that cannot be read: what a crash between a deletion and its garbage
// collection leaves.
func (s *Store) danglingCache(live map[digest.Digest]bool) []string {
	var out []string
	parents, _ := os.ReadDir(s.CacheDir())
	for _, p := range parents {
		dir := filepath.Join(s.CacheDir(), p.Name())
		parentGone := p.Name() != "scratch" && !live[digest.NewDigestFromEncoded(digest.SHA256, p.Name())]
		names, _ := os.ReadDir(dir)
		if parentGone && len(names) == 0 {
			out = append(out, dir)
			continue
		}
		for _, n := range names {
			path := filepath.Join(dir, n.Name())
			if strings.HasPrefix(n.Name(), ".tmp-") && !parentGone {
				continue // being written, or a temp leftover (tempLeftovers)
			}
			if parentGone {
				out = append(out, path)
				continue
			}
			data, err := os.ReadFile(path)
			var e CacheEntry
			if err != nil || json.Unmarshal(data, &e) != nil || !live[e.Image] {
				out = append(out, path)
			}
		}
	}
	return out
}
