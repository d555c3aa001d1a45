package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Garbage is what no listed image, container or running berth process
// needs: what deletions leave for the garbage collector, and what a crash
// leaves at any instant. Paths are absolute.
type Garbage struct {
	// Temp are ingest files, staging directories, half unpacked or half
	// removed layers and half written files (tmp/*, and .tmp-* beside
	// index.json, layers, container records and cache entries), listed
	// only when no other berth process has the store open (then they may
	// be live).
	Temp []string
	// Blobs are blobs no listed image names. While other berth processes
	// have the store open, blobs younger than an hour are left out: they
	// may belong to an image being written.
	Blobs []digest.Digest
	// Stray are files in blobs/sha256 whose name is not a digest.
	Stray []string
	// Layers are unpacked layer directories (chain IDs) that no listed
	// image and no container uses.
	Layers []string
	// Cache are build cache entries whose parent or image is gone.
	Cache []string
	// Bytes is the size of the blobs and stray files.
	Bytes int64
}

// Empty reports whether there is nothing to remove.
func (g *Garbage) Empty() bool {
	return len(g.Temp)+len(g.Blobs)+len(g.Stray)+len(g.Layers)+len(g.Cache) == 0
}

// findGarbage lists the garbage; the caller holds the store lock.
func (s *Store) findGarbage() (*Garbage, error) {
	g := &Garbage{}
	images, err := s.Images()
	if err != nil {
		return nil, err
	}
	liveBlobs := map[digest.Digest]bool{}
	liveChains := map[string]bool{}
	liveImages := map[digest.Digest]bool{}
	for _, img := range images {
		liveImages[img.ID] = true
		liveBlobs[img.ManifestDigest] = true
		liveBlobs[img.Manifest.Config.Digest] = true
		for _, l := range img.Manifest.Layers {
			liveBlobs[l.Digest] = true
		}
		for _, c := range img.ChainIDs() {
			liveChains[c.Encoded()] = true
		}
	}
	if err := s.markIndexesLive(liveBlobs); err != nil {
		return nil, err
	}
	containers, err := s.Containers()
	if err != nil {
		return nil, err
	}
	for _, c := range containers {
		for _, chain := range c.LayerChainIDs {
			liveChains[strings.TrimPrefix(chain, "sha256:")] = true
		}
	}
	if err := s.findBlobGarbage(g, liveBlobs); err != nil {
		return nil, err
	}
	entries, _ := os.ReadDir(s.LayersDir())
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && !liveChains[e.Name()] {
			g.Layers = append(g.Layers, e.Name())
		}
	}
	g.Cache = s.danglingCache(liveImages)
	return g, nil
}

func (s *Store) findBlobGarbage(g *Garbage, live map[digest.Digest]bool) error {
	entries, err := os.ReadDir(s.blobDir())
	if err != nil {
		return err
	}
	// Blobs go in before the index entry that names them, so a blob no image
	// names may belong to an image another berth process is writing right
	// now. While others have the store open, recent ones wait for a later GC.
	var graceCutoff time.Time
	if s.othersActive() {
		graceCutoff = time.Now().Add(-ingestGrace)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil || !info.Mode().IsRegular() {
			g.Stray = append(g.Stray, filepath.Join(s.blobDir(), e.Name()))
			g.Bytes += info.Size()
			continue
		}
		if live[d] || (!graceCutoff.IsZero() && info.ModTime().After(graceCutoff)) {
			continue
		}
		g.Blobs = append(g.Blobs, d)
		g.Bytes += info.Size()
	}
	return nil
}

// removeGarbage removes what findGarbage listed. Temp entries are removed
// only when withTemp is set (Repair, which checked it is alone); GC leaves
// them to Open.
func (s *Store) removeGarbage(g *Garbage, withTemp bool) (GCResult, error) {
	var res GCResult
	for _, d := range g.Blobs {
		if err := s.DeleteBlob(d); err != nil {
			return res, err
		}
		res.Blobs++
	}
	for _, p := range g.Stray {
		if err := os.RemoveAll(p); err != nil {
			return res, err
		}
		res.Blobs++
	}
	res.BytesFreed = g.Bytes
	for _, name := range g.Layers {
		if err := s.removeLayerDir(name); err != nil {
			return res, fmt.Errorf("remove unpacked layer %s: %w", name, err)
		}
		res.Layers++
	}
	for _, p := range g.Cache {
		if err := os.RemoveAll(p); err == nil {
			res.CacheFreed++
		}
		// A parent's directory goes with its last entry (Remove refuses
		// a directory that is not empty).
		if dir := filepath.Dir(p); dir != s.CacheDir() {
			_ = os.Remove(dir)
		}
	}
	if withTemp {
		for _, p := range g.Temp {
			if err := os.RemoveAll(p); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// FindGarbage lists what Repair would remove, changing nothing.
func (s *Store) FindGarbage() (*Garbage, error) {
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.findGarbageAndTemp()
}

// Repair removes every leftover of a crash or an interrupted command: temp
// entries (when no other berth process has the store open), unreferenced
// blobs, stray files, unpacked layers and dangling cache entries. It never
// touches what a listed image or a container uses. It returns what it
// removed.
func (s *Store) Repair() (*Garbage, error) {
	unlock, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	g, err := s.findGarbageAndTemp()
	if err != nil {
		return nil, err
	}
	if _, err := s.removeGarbage(g, true); err != nil {
		return g, err
	}
	return g, s.rebuildNameIndex()
}

func (s *Store) findGarbageAndTemp() (*Garbage, error) {
	g, err := s.findGarbage()
	if err != nil {
		return nil, err
	}
	if !s.othersActive() {
		g.Temp = s.tempLeftovers(true)
	}
	return g, nil
}

// Alone reports whether no other berth process (and no other Store in this
// one) has the store open, so that nothing is being written by anyone else.
func (s *Store) Alone() bool { return !s.othersActive() }

// CleanedAtOpen lists the temp entries Open removed because no other berth
// process had the store open: the leftovers of a killed command.
func (s *Store) CleanedAtOpen() []string { return s.cleanedAtOpen }
