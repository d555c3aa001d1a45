package engine

import (
	"errors"
	"os"
	"time"
)

// ErrPathNotFound is a docker cp path that is not in the container.
var ErrPathNotFound = errors.New("no such file in container")

// pathNotFound says so in Docker's words, and is ErrPathNotFound.
type pathNotFound string

func (e pathNotFound) Error() string        { return string(e) }
func (e pathNotFound) Is(target error) bool { return target == ErrPathNotFound }

// PathStat describes a path in a container, as Docker's
// X-Docker-Container-Path-Stat header.
type PathStat struct {
	Name       string
	Size       int64
	Mode       os.FileMode
	Mtime      time.Time
	LinkTarget string
}

// CopyToOptions are docker cp's options for copying in.
type CopyToOptions struct {
	// CopyUIDGID keeps the archive's owners (docker cp -a); otherwise
	// everything belongs to root, as Docker does.
	CopyUIDGID bool
	// NoOverwriteDirNonDir refuses to replace a directory with a file or
	// a file with a directory.
	NoOverwriteDirNonDir bool
}
