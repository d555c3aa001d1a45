//go:build !linux

package engine

import (
	"context"
	"io"
)

// StatContainerPath needs a container's root file system: Linux only.
func (e *Engine) StatContainerPath(context.Context, string, string) (*PathStat, error) {
	return nil, &NeedsLinuxError{Verb: "cp"}
}

// CopyFromContainer needs a container's root file system: Linux only.
func (e *Engine) CopyFromContainer(context.Context, string, string, func(*PathStat) error, io.Writer) error {
	return &NeedsLinuxError{Verb: "cp"}
}

// CopyToContainer needs a container's root file system: Linux only.
func (e *Engine) CopyToContainer(context.Context, string, string, io.Reader, CopyToOptions) error {
	return &NeedsLinuxError{Verb: "cp"}
}

// ExportContainer needs a container's root file system: Linux only.
func (e *Engine) ExportContainer(context.Context, string, io.Writer) error {
	return &NeedsLinuxError{Verb: "export"}
}
