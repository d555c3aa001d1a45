package layer

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/berthkit/berth/internal/plainfile"
	digest "github.com/opencontainers/go-digest"
)

// Media types of the layer blobs Diff writes.
const (
	MediaTypeTar  = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
)

// Whiteout names in an OCI layer.
const (
	// WhiteoutPrefix marks a deleted file: ".wh.passwd" deletes "passwd".
	WhiteoutPrefix = ".wh."
	// WhiteoutMetaPrefix starts aufs metadata entries, which are ignored.
	WhiteoutMetaPrefix = ".wh..wh."
	// WhiteoutOpaqueDir inside a directory hides everything lower layers put there.
	WhiteoutOpaqueDir = ".wh..wh..opq"
)

// ErrUnsafe is wrapped, with the entry's name, in the error Apply returns for
// an entry that would escape or replace the target directory.
var ErrUnsafe = errors.New("unsafe layer entry")

// DiffOptions configure Diff.
type DiffOptions struct {
	// Compression of the bytes written; the zero value is Gzip.
	Compression Compression
	// Level is the compression level; 0 picks the default (gzip 1, zstd 1).
	Level int
	// LowerDirs are the snapshot's lower dirs, top first. They are used only
	// to classify an entry as added or changed, with one lstat per entry.
	LowerDirs []string
	// Largest is how many of the largest files the summary keeps (default 10).
	Largest int
	// MaxChanges, when above 0, keeps only the first MaxChanges entries
	// of the summary's Changes (the counts stay exact): a caller that shows
	// a few paths need not hold one for every file of a huge layer.
	MaxChanges int
	// Epoch, when set, clamps every entry's modification time to it
	// (SOURCE_DATE_EPOCH, as BuildKit's rewrite-timestamp), so that the
	// same build gives the same layer at any time.
	Epoch time.Time
}

// Summary describes a snapshot in the words of the trace: what was added,
// changed and deleted, and how many bytes of file content the layer holds.
type Summary struct {
	// Added counts entries absent from every lower dir.
	Added int
	// Changed counts entries present in a lower dir, except directories whose
	// mode and owner are unchanged (they are only in the upper dir because
	// something inside them changed).
	Changed int
	// Deleted counts whiteouts.
	Deleted int
	// Bytes is the regular-file content written into the tar.
	Bytes int64
	// Largest lists the largest regular files, largest first.
	Largest []PathSize
	// Changes lists every entry like `docker diff`.
	Changes []Change
}

// PathSize is a file and its size in bytes.
type PathSize struct {
	Path string
	Size int64
}

// ChangeKind is the letter `docker diff` prints.
type ChangeKind byte

// Kinds of change.
const (
	ChangeAdd    ChangeKind = 'A'
	ChangeModify ChangeKind = 'C'
	ChangeDelete ChangeKind = 'D'
)

func (k ChangeKind) String() string { return string(rune(k)) }

// MarshalText writes the letter, so a Change reads well in JSON traces.
func (k ChangeKind) MarshalText() ([]byte, error) { return []byte{byte(k)}, nil }

// UnmarshalText reads the letter back.
func (k *ChangeKind) UnmarshalText(b []byte) error {
	if len(b) != 1 || (b[0] != 'A' && b[0] != 'C' && b[0] != 'D') {
		return fmt.Errorf("change kind %q: want A, C or D", b)
	}
	*k = ChangeKind(b[0])
	return nil
}

// Change is one line of `docker diff`: a kind and an absolute in-container path.
type Change struct {
	Kind ChangeKind
	Path string
}

func (c Change) String() string { return string(rune(c.Kind)) + " " + c.Path }

// DiffResult describes the layer Diff wrote.
type DiffResult struct {
	// DiffID is the digest of the uncompressed tar.
	DiffID digest.Digest
	// Digest is the digest of the bytes written (equal to DiffID when uncompressed).
	Digest digest.Digest
	// Size is the number of bytes written.
	Size int64
	// UncompressedSize is the size of the tar.
	UncompressedSize int64
	// MediaType of the bytes written.
	MediaType string
	// Empty reports a layer without entries (nothing changed).
	Empty bool
	// Summary of the changes, computed while writing.
	Summary Summary
}

// emptyTarDiffID is the digest of a tar without entries: its end, two
// zeroed 512-byte blocks.
var emptyTarDiffID = digest.FromBytes(make([]byte, 1024))

// NothingChanged reports, from one directory read, that upperDir has no
// entries at all, so its diff is empty; the result is then what Diff would
// return for it with compression c, made without compressing or writing a
// blob (a build's `RUN true` step leaves nothing to store). A directory
// with entries returns nil: only Diff can tell whether they change
// anything.
func NothingChanged(upperDir string, c Compression) (*DiffResult, error) {
	// Outside the poller: os.Open's attempt to register a directory costs
	// five system calls more, each step.
	dir, err := plainfile.Open(upperDir)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", upperDir, err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(1)
	if len(names) > 0 {
		return nil, nil
	}
	if err != io.EOF {
		return nil, fmt.Errorf("diff %s: %w", upperDir, err)
	}
	return &DiffResult{DiffID: emptyTarDiffID, UncompressedSize: 1024, MediaType: c.MediaType(), Empty: true}, nil
}

// Whiteouts selects how Apply treats whiteout entries.
type Whiteouts int

const (
	// WhiteoutOverlay writes overlayfs whiteouts (a character device 0/0 for
	// a deleted file, trusted.overlay.opaque=y on an opaque directory), so the
	// result works as an overlay lower dir. It needs root.
	WhiteoutOverlay Whiteouts = iota
	// WhiteoutDelete applies whiteouts by deleting what they name, flattening
	// the layer onto the contents already in the target.
	WhiteoutDelete
)

// ApplyOptions configure Apply.
type ApplyOptions struct {
	// Whiteouts selects overlay whiteouts (the default) or deletion.
	Whiteouts Whiteouts
	// ExpectDiffID, when set, is checked against the digest of the
	// uncompressed stream; a mismatch is an error.
	ExpectDiffID digest.Digest
	// RemoveOnError removes the target directory if Apply fails, so a
	// half-written layer never stays behind. The caller must own it.
	RemoveOnError bool
}

// ApplyResult describes an applied layer.
type ApplyResult struct {
	// DiffID is the digest of the uncompressed tar.
	DiffID digest.Digest
	// Size is the size of the uncompressed tar.
	Size int64
	// Entries is the number of tar entries applied, whiteouts included.
	Entries int
}
