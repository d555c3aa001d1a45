package engine

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/berthkit/berth/engine/snapshot"
	"github.com/berthkit/berth/internal/crashpoint"
)

// A build's next RUN step's container has its ID chosen while the current
// step runs (buildBackend.nextID). Its snapshot's directories (its own,
// upper, work, merged, l: about 0.15 ms of mkdirs on the step's path) are
// made then too, in the background on the other core, under the store's
// tmp/ as tmp/stage-<id>: not in containers/, where a directory without a
// record would be a container nobody lists or removes. Its create moves
// them into place with one rename and adds the lower links, which need the
// current step's layer (snapshot.PrepareStaged). A kill leaves
// tmp/stage-<id>, which the next berth process alone on the store removes
// with the rest of tmp/; the build's end removes the ones it did not take.

// stagedDir is a next step's snapshot directories being made.
type stagedDir struct {
	path string
	done chan struct{}
	err  error
}

// stageDir starts making the snapshot directories for container id in
// the background.
func (e *Engine) stageDir(id string) *stagedDir {
	st := &stagedDir{path: filepath.Join(e.Store.TmpDir(), "stage-"+id), done: make(chan struct{})}
	go func() {
		defer close(st.done)
		st.err = snapshot.Stage(st.path)
		if st.err == nil {
			crashpoint.Hit("build.next-staged")
		}
	}()
	return st
}

// take waits for the directories and returns their path, "" if they could
// not be made (the create then makes them itself).
func (st *stagedDir) take() string {
	if st == nil {
		return ""
	}
	<-st.done
	if st.err != nil {
		return ""
	}
	return st.path
}

// discard removes staged directories no container took.
func (st *stagedDir) discard() {
	if p := st.take(); p != "" {
		os.RemoveAll(p)
	}
}

// prepareSnapshot prepares container id's snapshot over lowers, in the
// directories staged ahead when there are some (snapshot.PrepareStaged).
// If they cannot be used the snapshot is made as without them, which
// reports any real problem (a missing layer) the same way.
func (e *Engine) prepareSnapshot(id string, lowers []string, staged string) error {
	snaps := snapshot.New(e.Store.ContainersDir())
	if staged != "" {
		_, err := snaps.PrepareStaged(id, staged, lowers)
		if err == nil {
			return nil
		}
		os.RemoveAll(staged)
		if errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if err := os.MkdirAll(snaps.Dir(id), 0o700); err != nil {
		return err
	}
	_, err := snaps.Prepare(id, lowers)
	return err
}
