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
func (s *Store) AdoptLayerDir(chainID digest.Digest, dir string) error {
	if s.hasLayerDir(chainID) {
		return nil
	}
	if err := os.Rename(dir, s.LayerDir(chainID)); err != nil {
		if s.hasLayerDir(chainID) {
			return nil
		}
		return fmt.Errorf("adopt layer %s: %w", chainID, err)
	}
	_ = syncDir(s.LayersDir())
	return nil
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
