package engine

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/berthkit/berth/engine/snapshot"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/internal/crashpoint"
)

// A build's next RUN step's container has its ID chosen while the current
// step runs (buildBackend.nextID). Its directory is made then too, in the
// background on the other core while the current step's command runs:
// the snapshot's directories (its own, upper, work, merged, l) and the
// files bound onto /etc/hostname, /etc/hosts and /etc/resolv.conf, written
// as the current step's would be for that ID. It is made under the store's
// tmp/ as tmp/stage-<id>, not in containers/, where a directory without a
// record would be a container nobody lists or removes. The next step's
// create moves it into place with one rename, adds the lower links, which
// need the current step's layer (snapshot.PrepareStaged), and writes again
// only a file whose content differs from what it wants (a RUN with another
// network, a changed host resolv.conf). A kill leaves tmp/stage-<id>,
// which the next berth process alone on the store removes with the rest
// of tmp/; the build's end removes the ones it did not take.

// stagedDir is a next step's directory being made.
type stagedDir struct {
	path string
	// files are the /etc files written in it, name → content.
	files map[string]string
	done  chan struct{}
	err   error
}

// stageDir starts making the directory of container id in the background,
// with the /etc files that a container like cur (the current step's) but
// with that ID would have.
func (e *Engine) stageDir(id string, cur *store.Container) *stagedDir {
	st := &stagedDir{path: filepath.Join(e.Store.TmpDir(), "stage-"+id), done: make(chan struct{})}
	next := *cur // a shallow copy, read only
	next.ID = id
	if cur.Config.Hostname == cur.ShortID() {
		next.Config.Hostname = next.ShortID()
	}
	go func() {
		defer close(st.done)
		st.err = st.make(&next)
		if st.err == nil {
			crashpoint.Hit("build.next-staged")
		}
	}()
	return st
}

// make makes the directory for the container c.
func (st *stagedDir) make(c *store.Container) error {
	if err := snapshot.Stage(st.path); err != nil {
		return err
	}
	files := netFileContents(c, nil, nil)
	files["hostname"] = c.Config.Hostname + "\n"
	for name, data := range files {
		if err := rewriteInPlace(filepath.Join(st.path, name), data); err != nil {
			os.RemoveAll(st.path)
			return err
		}
	}
	st.files = files
	return nil
}

// take waits for the directory and returns it, nil if it could not be
// made (the create then makes its own).
func (st *stagedDir) take() *stagedDir {
	if st == nil {
		return nil
	}
	<-st.done
	if st.err != nil {
		return nil
	}
	return st
}

// discard removes a staged directory no container took.
func (st *stagedDir) discard() {
	if st.take() != nil {
		os.RemoveAll(st.path)
	}
}

// prepareSnapshot prepares container id's snapshot over lowers, in the
// directory staged ahead when there is one (snapshot.PrepareStaged), and
// returns the /etc files that directory holds (nil without one). If it
// cannot be used the snapshot is made as without it, which reports any
// real problem (a missing layer) the same way.
func (e *Engine) prepareSnapshot(id string, lowers []string, staged *stagedDir) (map[string]string, error) {
	snaps := snapshot.New(e.Store.ContainersDir())
	if staged != nil {
		_, err := snaps.PrepareStaged(id, staged.path, lowers)
		if err == nil {
			return staged.files, nil
		}
		os.RemoveAll(staged.path)
		if errors.Is(err, os.ErrExist) {
			return nil, err
		}
	}
	_, err := snaps.Prepare(id, lowers) // makes the container's directory
	return nil, err
}
