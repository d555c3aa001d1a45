package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/berthkit/berth/internal/crashpoint"
)

// Every file the store replaces (index.json, indexes.json, oci-layout,
// volume and container records, cache entries; engine/network's network
// definitions too) is written by writeFile: through a temporary file in
// the same directory, renamed into place, so readers see the old or the new
// content, never a mix. The temporary file is named ".tmp-<name>-*", which
// Open and Repair recognise as a killed writer's leftover.

// WriteFileAtomic writes data to path durably: the temporary file is
// fsynced before the rename and the directory after it, so the new content
// survives a power cut once WriteFileAtomic returns. For files whose loss
// at a machine crash is repaired anyway, WriteFileReplace skips the fsyncs.
// Its errors are the system's, which name the temporary file; callers say
// which file they were writing ("write index.json: ...").
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return writeFile(path, data, perm, true)
}

// WriteFileReplace writes data to path through a renamed temporary file,
// without fsync: atomic for readers and for a killed process, not durable
// across a machine crash. Records that change at every container start and
// exit use it, since an fsync costs milliseconds. A failure names the
// cause and the path ("no space left on device while writing
// .../config.json"), since a record's callers do not.
func WriteFileReplace(path string, data []byte, perm os.FileMode) error {
	if err := writeFile(path, data, perm, false); err != nil {
		return writeError(path, err)
	}
	return nil
}

// WriteFileInPlace writes data over path's content, keeping its inode (a
// file another mount namespace may have bind-mounted), or creates it with
// perm: not atomic for readers, for files written again before anything
// reads them after a crash (a container's /etc/hosts). It opens the file
// without trying Go's poller, which a regular file refuses after four
// fcntl calls and an epoll_ctl: a container's create writes three.
func WriteFileInPlace(path string, data []byte, perm os.FileMode) error {
	f, err := openTrunc(path, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFile is WriteFileAtomic (durable) and WriteFileReplace. A failure
// leaves the old content and no temporary file.
func writeFile(path string, data []byte, perm os.FileMode, durable bool) error {
	var sync func(*os.File) error
	if durable {
		sync = (*os.File).Sync
	}
	return writeFileWith(path, perm, sync, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// writeFileWith is writeFile with the content written by write, for a
// file written in parts (index.json: the old text around a new entry).
// sync makes the temporary file's content durable before the rename (an
// fsync, or index.json's syncfs of a batch that covers it), and the
// directory is synced after it; a nil sync is WriteFileReplace's: neither.
func writeFileWith(path string, perm os.FileMode, sync func(*os.File) error, write func(*os.File) error) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, filepath.Base(path), perm, sync, write)
	if err != nil {
		return err
	}
	if sync != nil {
		crashpoint.Hit("write." + filepath.Base(path) + ".before-rename")
	}
	if err := replace(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if sync != nil {
		return syncDir(dir)
	}
	return nil
}

// writeTemp writes a new ".tmp-<name>-*" file in dir with write, gives it
// perm, syncs it with sync unless nil, and returns its path. A failure
// removes it and returns the system's error.
func writeTemp(dir, name string, perm os.FileMode, sync func(*os.File) error, write func(*os.File) error) (string, error) {
	f, err := createTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil && perm != tempPerm {
		err = f.Chmod(perm)
	}
	if err == nil && sync != nil {
		err = sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// newFile is one file of writeNewFiles.
type newFile struct {
	name string
	data []byte
}

// writeNewFiles creates files in dir durably where they do not exist yet,
// as WriteFileAtomic would one by one, with one fsync of dir for all of
// them instead of one each: every temporary file is written and fsynced,
// then all are linked to their names, then dir is synced. A crash before
// that sync may lose any of the links, never a file's content; Open (a
// fresh store's oci-layout and index.json) writes whatever is missing
// again. A file that another process created meanwhile is kept, not
// replaced (the link fails), and reported as not created. A failure
// removes the temporary files.
func writeNewFiles(dir string, perm os.FileMode, files []newFile) (created []bool, err error) {
	temps := make([]string, 0, len(files))
	defer func() {
		if err != nil {
			for _, tmp := range temps {
				os.Remove(tmp)
			}
		}
	}()
	for _, nf := range files {
		tmp, err := writeTemp(dir, nf.name, perm, (*os.File).Sync, func(f *os.File) error {
			_, err := f.Write(nf.data)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", nf.name, err)
		}
		temps = append(temps, tmp)
	}
	created = make([]bool, len(files))
	for i, nf := range files {
		crashpoint.Hit("write." + nf.name + ".before-rename")
		target := filepath.Join(dir, nf.name)
		err := os.Link(temps[i], target)
		if err != nil && !errors.Is(err, os.ErrExist) {
			// A file system without hard links: rename, as writeFile.
			err = replace(temps[i], target)
		}
		created[i] = err == nil
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("write %s: %w", nf.name, err)
		}
	}
	for _, tmp := range temps {
		os.Remove(tmp)
	}
	temps = nil
	return created, syncDir(dir)
}

// tempPerm is the mode createTemp gives a file, as os.CreateTemp does; a
// file meant to have it needs no chmod.
const tempPerm os.FileMode = 0o600

// createTemp is os.CreateTemp in fewer system calls, since every container
// start and exit and every build step writes a few small files: the file
// is opened without trying Go's poller on it (which a regular file refuses
// after four fcntl calls and an epoll_ctl).
func createTemp(dir, prefix string) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := openExcl(name, tempPerm)
		if errors.Is(err, os.ErrExist) && try < 10000 {
			continue
		}
		return f, err
	}
}

// writeError says which file could not be written, with the system's
// reason first; errors.Is still finds the errno (syscall.ENOSPC).
func writeError(path string, err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("%w while writing %s", err, path)
}
