package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/opencontainers/go-digest"
)

// LayerDir is where the layer whose chain ID is chainID is unpacked. It is an
// overlay lower dir: whiteouts in it are overlay whiteouts.
func (s *Store) LayerDir(chainID digest.Digest) string {
	return filepath.Join(s.LayersDir(), chainID.Encoded())
}

// hasLayerDir reports whether the layer is unpacked.
func (s *Store) hasLayerDir(chainID digest.Digest) bool {
	st, err := os.Stat(s.LayerDir(chainID))
	return err == nil && st.IsDir()
}

// CreateLayerDir unpacks a layer once: fill writes into a fresh directory,
// which is renamed to LayerDir(chainID) only when fill succeeds. If the layer
// is already there (another process won the race), that is success.
func (s *Store) CreateLayerDir(chainID digest.Digest, fill func(dir string) error) error {
	if s.hasLayerDir(chainID) {
		return nil
	}
	tmp, err := os.MkdirTemp(s.LayersDir(), ".tmp-"+chainID.Encoded()[:12]+"-")
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", chainID, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("unpack layer %s: %w", chainID, err)
	}
	crashpoint.Hit("layer.before-rename")
	if err := os.Rename(tmp, s.LayerDir(chainID)); err != nil {
		os.RemoveAll(tmp)
		if s.hasLayerDir(chainID) {
			return nil
		}
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		return fmt.Errorf("unpack layer %s: %w", chainID, err)
	}
	_ = syncDir(s.LayersDir())
	return nil
}

// AdoptLayerDir moves dir, an already unpacked layer (such as a finished
// build step's overlay upper dir, whose whiteouts are already overlay
// whiteouts), into place as LayerDir(chainID). It saves unpacking the blob
// that was just made from it. If the layer is already there, dir is left
// alone and that is success.
//
// A layer directory must be whole after a power cut, and whoever wrote dir
// may not have synced it: a build step's overlay is mounted volatile, so
// its exit syncs nothing (docs/containers.md). dir's file system is synced
// (syncfs) before the rename; when that fails, dir is not adopted.
func (s *Store) AdoptLayerDir(chainID digest.Digest, dir string) error {
	if s.hasLayerDir(chainID) {
		return nil
	}
	if err := syncAdopted(dir); err != nil {
		return fmt.Errorf("adopt layer %s: sync %s: %w", chainID, dir, err)
	}
	if err := os.Rename(dir, s.LayerDir(chainID)); err != nil {
		if s.hasLayerDir(chainID) {
			return nil
		}
		return fmt.Errorf("adopt layer %s: %w", chainID, err)
	}
	s.syncLayersDir()
	return nil
}

// syncAdopted makes what was written under dir durable before
// AdoptLayerDir names it a layer (a test replaces it to see the order).
var syncAdopted = syncDirFS

// syncDirFS syncs the file system that holds dir (syncFS).
func syncDirFS(dir string) error {
	f, err := openDir(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return syncFS(f)
}

// removeLayerDir removes an unpacked layer by first renaming it to a
// ".tmp-rm-" name, so a crash half way through never leaves a partial
// layer under its chain ID for a later run, pull or load to reuse; the next
// Open (or `image validate --repair`) removes the renamed rest.
func (s *Store) removeLayerDir(name string) error {
	trash := filepath.Join(s.LayersDir(), ".tmp-rm-"+name)
	if err := os.Rename(filepath.Join(s.LayersDir(), name), trash); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	crashpoint.Hit("layer.removing")
	return os.RemoveAll(trash)
}

// SharedLayerDir returns layers/.<name>, a lower dir that every container
// shares, such as the init layer of mount points the runtime needs: made
// once per store rather than once per container. fill writes it the first
// time it is asked for, into a temporary directory renamed into place when
// fill succeeds, so it is whole or absent. fill makes only directories,
// empty files and symlinks: metadata, which a journaling file system
// commits in order, so the rename never outlives the entries made before
// it (the same holds for CreateLayerDir). Its name starts with a dot,
// which garbage collection leaves alone; a name that changes when what
// fill writes changes keeps containers made before on their own copy.
func (s *Store) SharedLayerDir(name string, fill func(dir string) error) (string, error) {
	if name == "" || name != filepath.Base(name) || name[0] == '.' {
		return "", fmt.Errorf("shared layer name %q is not a plain file name", name)
	}
	final := filepath.Join(s.LayersDir(), "."+name)
	if st, err := os.Stat(final); err == nil && st.IsDir() {
		return final, nil
	}
	tmp, err := os.MkdirTemp(s.LayersDir(), ".tmp-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("make layer %s: %w", name, err)
	}
	err = os.Chmod(tmp, 0o755)
	if err == nil {
		err = fill(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.RemoveAll(tmp)
		// Another process renamed its copy first: that one is as good.
		if st, statErr := os.Stat(final); statErr == nil && st.IsDir() {
			return final, nil
		}
		return "", fmt.Errorf("make layer %s: %w", name, err)
	}
	s.syncLayersDir()
	return final, nil
}

// syncLayersDir makes a rename into layers/ durable: at once, or in a
// batch with the syncfs before the batch's index write, which covers the
// layer's blob too (IngestBlob). A lost rename costs only an unpack.
func (s *Store) syncLayersDir() {
	if s.inBatch() {
		s.unsynced.Store(true)
		return
	}
	_ = syncDir(s.LayersDir())
}
