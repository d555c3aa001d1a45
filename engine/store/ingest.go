package store

import (
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/berthkit/berth/internal/crashpoint"
	"github.com/opencontainers/go-digest"
)

// BlobWriter receives one blob's bytes as they arrive, for a caller that
// reads them itself: a pull reads each layer once, on one goroutine, into
// its layer check (CheckLayer through an io.TeeReader into the writer), so
// no pipe hands the bytes from a copy loop to a second goroutine. Write
// hashes and stores the bytes in a temporary file and refuses any byte past
// the announced size; Commit checks size and digest and only then moves
// the blob into the store; Abort (safe after Commit) leaves no trace.
//
// It stores like IngestBlob: no fsync of the blob directory, and in a
// batch (BeginBatch) no fsync of the blob either, whose writeback starts
// every writebackStep bytes while it streams in.
type BlobWriter struct {
	s        *Store
	f        *os.File
	w        io.Writer // f, or f behind a writebackWriter when unsynced
	hash     hash.Hash
	digester digest.Digester
	want     digest.Digest
	wantSize int64
	n        int64
	unsynced bool
	dirSync  bool
	err      error // the first write error: Commit reports it
	done     bool
}

// NewBlobWriter starts ingesting a blob that must hash to want and, when
// wantSize >= 0, be wantSize bytes long. The caller ends it with Commit or
// Abort.
func (s *Store) NewBlobWriter(want digest.Digest, wantSize int64) (*BlobWriter, error) {
	if err := want.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", want, err)
	}
	return s.newBlobWriter(want, wantSize, false)
}

func (s *Store) newBlobWriter(want digest.Digest, wantSize int64, dirSync bool) (*BlobWriter, error) {
	f, err := os.CreateTemp(s.TmpDir(), "ingest-")
	if err != nil {
		return nil, fmt.Errorf("create ingest file: %w", err)
	}
	digester := digest.Canonical.Digester()
	b := &BlobWriter{s: s, f: f, w: f, digester: digester, hash: digester.Hash(),
		want: want, wantSize: wantSize, dirSync: dirSync}
	if b.unsynced = !dirSync && s.inBatch(); b.unsynced {
		b.w = &writebackWriter{f: f}
	}
	return b, nil
}

// Write stores and hashes p. Past the announced size it stores nothing
// more and fails, so a hostile source cannot fill the disk past what it
// declared.
func (b *BlobWriter) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.wantSize >= 0 && b.n+int64(len(p)) > b.wantSize {
		b.err = fmt.Errorf("blob %s is longer than the %d bytes expected: %w", b.want, b.wantSize, ErrInvalidDigest)
		return 0, b.err
	}
	n, err := b.w.Write(p)
	b.hash.Write(p[:n])
	b.n += int64(n)
	if err != nil {
		b.err = fmt.Errorf("write blob: %w", err)
		return n, b.err
	}
	return n, nil
}

// Size is the number of bytes written so far.
func (b *BlobWriter) Size() int64 { return b.n }

// Verify says whether what was written is the announced blob: no write
// error, the announced size, the announced digest. The error wraps
// ErrInvalidDigest when the content is at fault.
func (b *BlobWriter) Verify() (digest.Digest, error) {
	if b.err != nil {
		return "", b.err
	}
	got := b.digester.Digest()
	if b.wantSize >= 0 && b.n != b.wantSize {
		return "", fmt.Errorf("blob %s is %d bytes, not the %d expected: %w", b.want, b.n, b.wantSize, ErrInvalidDigest)
	}
	if b.want != "" && got != b.want {
		return "", fmt.Errorf("blob %s: got %s: %w", b.want, got, ErrInvalidDigest)
	}
	return got, nil
}

// Commit verifies the blob and moves it into the store under its digest.
// Whatever it returns, the temporary file is gone afterwards.
func (b *BlobWriter) Commit() (digest.Digest, int64, error) {
	defer b.Abort()
	got, err := b.Verify()
	if err != nil {
		return "", 0, err
	}
	if b.unsynced {
		startWriteback(b.f, b.n-b.n%writebackStep, 0)
		b.s.unsynced.Store(true)
	} else if err := b.f.Sync(); err != nil {
		return "", 0, fmt.Errorf("sync blob: %w", err)
	} else {
		b.s.blobSyncs.Add(1)
	}
	if err := b.f.Chmod(0o644); err != nil {
		return "", 0, err
	}
	if err := b.f.Close(); err != nil {
		return "", 0, err
	}
	crashpoint.Hit("blob.before-rename")
	if err := os.Rename(b.f.Name(), b.s.BlobPath(got)); err != nil {
		return "", 0, fmt.Errorf("commit blob %s: %w", got, err)
	}
	b.done = true
	if b.dirSync {
		b.s.blobDirSync.Add(1)
		_ = syncDir(b.s.blobDir())
	}
	return got, b.n, nil
}

// Abort drops the blob: the temporary file is closed and removed. After a
// successful Commit it does nothing.
func (b *BlobWriter) Abort() {
	if b.done {
		return
	}
	b.done = true
	b.f.Close()
	os.Remove(b.f.Name())
}
