package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrNotFound      = errdefs.New(errdefs.NotFound, "not found")
	ErrAmbiguous     = errdefs.New(errdefs.InvalidParameter, "ambiguous")
	ErrInvalidDigest = errors.New("content does not match its digest")
	ErrConflict      = errdefs.New(errdefs.Conflict, "conflict")
)

// Store is an open Berth root. It is safe for concurrent use by goroutines;
// processes coordinate through file locks.
type Store struct {
	root string

	activeLock *os.File // shared lock held while open: tells others we're alive

	mu sync.Mutex // serialises index updates inside this process

	parsed      sync.Map     // manifest digest → *Image parsed from immutable blobs
	parsedBytes atomic.Int64 // JSON bytes behind parsed, roughly; see maxParsedBytes

	configEnc configEncoder // the last config's encoded history and environment (configenc.go)
	listed    listedDigests // isListed's sets (batch.go); guarded by indexMu
	raw       *rawView      // index.json as text (indexscan.go); guarded by indexMu

	indexMu     sync.Mutex
	indexKey    indexKey
	indexCache  *ocispec.Index    // index.json as last parsed, for indexKey
	indexRaws   []json.RawMessage // raw bytes of indexCache's entries, parallel (indexraw.go)
	indexParses atomic.Int64      // index.json reads that parsed the file, for tests
	recordReads atomic.Int64      // container records read, for tests

	cleanedAtOpen []string // leftovers Open removed (absolute paths)

	batchDepth int                  // open BeginBatch calls; guarded by mu
	pending    []ocispec.Descriptor // images listed by a batch, not yet in index.json; guarded by indexMu (changed only under mu too)
	unsynced   atomic.Bool          // blobs were stored without fsync (see syncUnsynced)
	// indexWrites counts rewrites of index.json, so a test can assert
	// that a build's index work grows with its steps, not their square.
	indexWrites atomic.Int64
	cacheReads  atomic.Int64 // cache files read (CacheFilesRead)
	blobDirSync atomic.Int64 // fsyncs of the blob directory, for tests
	blobSyncs   atomic.Int64 // fsyncs of ingested blobs' content, for tests
	fsSyncs     atomic.Int64 // syncfs calls of syncUnsynced, for tests
	// indexFileSyncs counts the fsyncs of a new index.json of its own
	// (not covered by a batch's syncfs), for tests.
	indexFileSyncs atomic.Int64
	trash          sync.WaitGroup // deletions of removed containers' files (DeleteContainer)

	// manifestReads counts manifests read only for the config they name
	// (configDigest), for tests: a tag must not read one per image.
	manifestReads atomic.Int64
}

// Open opens (creating if needed) the store at root. If no other Berth
// process has the store open, leftovers of killed processes are removed.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("store root %q: %w", root, err)
	}
	s := &Store{root: abs}
	for _, dir := range []string{s.root, s.blobDir(), s.LayersDir(), s.ContainersDir(), s.CacheDir(), s.TmpDir()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
	}
	active, err := os.OpenFile(filepath.Join(s.root, "active.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store lock: %w", err)
	}
	// Alone? Then nobody is ingesting, and leftovers are ours to clean.
	if flock(active, lockExclusive|lockNonBlocking) == nil {
		s.cleanLeftovers()
	}
	if err := flock(active, lockShared); err != nil {
		active.Close()
		return nil, fmt.Errorf("lock store: %w", err)
	}
	s.activeLock = active
	// Only under the shared lock: another Open that found itself alone
	// would take this write's temp file for a killed process's leftover.
	if err := s.ensureLayoutFiles(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// maxParsedBytes bounds the parsed images kept, by the size of their JSON:
// room for every image of a busy store's `berth images`, not for every
// intermediate config of a long build.
const maxParsedBytes = 8 << 20

// ingestGrace is how long GC leaves a blob that no image names alone while
// other berth processes have the store open: long enough for any load,
// commit or pull to list its image.
const ingestGrace = time.Hour

// Close releases the store. The Store must not be used afterwards.
func (s *Store) Close() error {
	// Deleted containers' files go before the store is let go, while no
	// other process's Open may take them for a killed one's leftovers.
	s.trash.Wait()
	if s.activeLock == nil {
		return nil
	}
	err := s.activeLock.Close()
	s.activeLock = nil
	return err
}

// Root is the absolute path of the store.
func (s *Store) Root() string { return s.root }

// LayersDir holds unpacked layers, one directory per chain ID.
func (s *Store) LayersDir() string { return filepath.Join(s.root, "layers") }

// ContainersDir holds one directory per container.
func (s *Store) ContainersDir() string { return filepath.Join(s.root, "containers") }

// CacheDir holds the build cache index.
func (s *Store) CacheDir() string { return filepath.Join(s.root, "cache") }

// TmpDir holds ingest files and half-made directories.
func (s *Store) TmpDir() string { return filepath.Join(s.root, "tmp") }

func (s *Store) blobDir() string { return filepath.Join(s.root, "blobs", "sha256") }

// ensureLayoutFiles writes oci-layout and an empty index.json where they
// are missing, both durable before Open returns. A new store needs both:
// they are written together with three fsyncs (each file, then the root
// once for both names) instead of four, and neither replaces a file that
// a concurrent Open or pull created meanwhile.
func (s *Store) ensureLayoutFiles() error {
	var files []newFile
	if _, err := os.Stat(filepath.Join(s.root, ocispec.ImageLayoutFile)); errors.Is(err, os.ErrNotExist) {
		data, _ := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		files = append(files, newFile{name: ocispec.ImageLayoutFile, data: data})
	}
	var index []byte
	var kept *ocispec.Index
	var raws []json.RawMessage
	if _, err := os.Stat(s.indexPath()); errors.Is(err, os.ErrNotExist) {
		var err error
		if index, raws, kept, err = encodeIndex(newIndex(), nil, nil); err != nil {
			return fmt.Errorf("encode index.json: %w", err)
		}
		files = append(files, newFile{name: "index.json", data: index})
	}
	if len(files) == 0 {
		return nil
	}
	created, err := writeNewFiles(s.root, 0o644, files)
	if err != nil {
		return err
	}
	if index != nil && created[len(created)-1] {
		s.indexWrites.Add(1)
		s.keepIndex(index, kept, raws)
	}
	return nil
}

// cleanLeftovers removes what killed processes left: ingest files, half
// unpacked or half removed layers, half written index, records and cache
// entries. Called only while holding the exclusive active lock, so no other
// process is working.
func (s *Store) cleanLeftovers() {
	for _, p := range s.tempLeftovers(false) {
		if os.RemoveAll(p) == nil {
			s.cleanedAtOpen = append(s.cleanedAtOpen, p)
		}
	}
}

// tempLeftovers lists the store's temp entries: everything under tmp/, and
// the ".tmp-" files and directories that atomic writes, layer unpacking and
// layer removal make beside their targets (in the root and layers/, and
// with deep in each container's and each cache directory, which costs a
// directory read each: Repair looks there, not every Open). Only a killed
// process leaves them once no berth process has the store open.
func (s *Store) tempLeftovers(deep bool) []string {
	var out []string
	entries, _ := os.ReadDir(s.TmpDir())
	for _, e := range entries {
		out = append(out, filepath.Join(s.TmpDir(), e.Name()))
	}
	dotTmp := func(dir string) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				out = append(out, filepath.Join(dir, e.Name()))
			}
		}
	}
	dotTmp(s.root)
	dotTmp(s.LayersDir())
	if !deep {
		return out
	}
	for _, parent := range []string{s.ContainersDir(), s.CacheDir()} {
		subdirs, _ := os.ReadDir(parent)
		for _, d := range subdirs {
			if d.IsDir() {
				dotTmp(filepath.Join(parent, d.Name()))
			}
		}
	}
	return out
}

// TempDir makes a fresh directory under tmp/ that Open removes if this
// process dies before cleaning it.
func (s *Store) TempDir(pattern string) (string, error) {
	return os.MkdirTemp(s.TmpDir(), pattern)
}

// lockFile takes an exclusive flock on root/<name> and returns its release.
func (s *Store) lockFile(name string) (func(), error) {
	f, err := openLock(filepath.Join(s.root, name))
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", name, err)
	}
	if err := flock(f, lockExclusive); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

// Lock takes the store's exclusive write lock, for read-modify-write of
// index.json and anything that must not race with garbage collection.
func (s *Store) Lock() (unlock func(), err error) {
	s.mu.Lock()
	release, err := s.lockFile("index.lock")
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	return func() { release(); s.mu.Unlock() }, nil
}

// RandomID returns 64 hex characters, the form of container and build IDs.
func RandomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// --- blobs ---

// BlobPath is where the blob with digest d lives.
func (s *Store) BlobPath(d digest.Digest) string {
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), d.Encoded())
}

// HasBlob reports whether the blob is present.
func (s *Store) HasBlob(d digest.Digest) bool {
	if d.Validate() != nil {
		return false
	}
	_, err := os.Stat(s.BlobPath(d))
	return err == nil
}

// BlobSize returns the blob's size, or ErrNotFound.
func (s *Store) BlobSize(d digest.Digest) (int64, error) {
	if err := d.Validate(); err != nil {
		return 0, fmt.Errorf("blob %q: %w", d, err)
	}
	st, err := os.Stat(s.BlobPath(d))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("blob %s: %w", d, ErrNotFound)
		}
		return 0, err
	}
	return st.Size(), nil
}

// OpenBlob opens a blob for reading.
func (s *Store) OpenBlob(d digest.Digest) (*os.File, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", d, err)
	}
	f, err := os.Open(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	return f, err
}

// ReadBlob reads a small blob (manifest, config) whole.
func (s *Store) ReadBlob(d digest.Digest) ([]byte, error) {
	f, err := s.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if digest.FromBytes(data) != d {
		return nil, fmt.Errorf("blob %s: %w", d, ErrInvalidDigest)
	}
	return data, nil
}

// PutBlob ingests r as a blob. If want is not empty the content must have
// that digest (and wantSize, when >= 0, that size), or nothing is stored and
// an error wrapping ErrInvalidDigest is returned. A blob already present is
// success: the reader is drained only when want is empty.
func (s *Store) PutBlob(r io.Reader, want digest.Digest, wantSize int64) (digest.Digest, int64, error) {
	return s.putBlob(r, want, wantSize, true)
}

// IngestBlob stores a blob like PutBlob but leaves the fsync of the blob
// directory to the image that will name it: PutImage and ImportManifest
// sync that directory once before they write index.json, which makes every
// blob renamed into it before durable at once. A step's layer, config and
// manifest so share one directory sync instead of three. Until then a
// crash can lose the blob's name, and with it only a blob no image names.
//
// In a batch (BeginBatch) the blob's content is not fsynced either: the
// images of a batch reach index.json only after one syncfs(2) of the store
// (syncUnsynced), which makes the blob durable with every other file the
// batch wrote, so a build step waits on the disk for none of them.
func (s *Store) IngestBlob(r io.Reader, want digest.Digest, wantSize int64) (digest.Digest, int64, error) {
	return s.putBlob(r, want, wantSize, false)
}

// writebackStep is how many bytes of a blob ingested unsynced are written
// before the kernel is asked to start putting them on disk.
const writebackStep = 8 << 20

// writebackWriter writes a blob ingested unsynced and starts the writeback
// of every writebackStep bytes once written, so the disk works while the
// blob still streams in and the batch's syncfs has little left to wait for.
type writebackWriter struct {
	f   *os.File
	off int64
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	before := w.off
	w.off += int64(n)
	if start := before - before%writebackStep; w.off-start >= writebackStep {
		end := w.off - w.off%writebackStep
		startWriteback(w.f, start, end-start)
	}
	return n, err
}

func (s *Store) putBlob(r io.Reader, want digest.Digest, wantSize int64, dirSync bool) (digest.Digest, int64, error) {
	if want != "" {
		if err := want.Validate(); err != nil {
			return "", 0, fmt.Errorf("blob %q: %w", want, err)
		}
		if size, err := s.BlobSize(want); err == nil && (wantSize < 0 || size == wantSize) {
			return want, size, nil
		}
	}
	b, err := s.newBlobWriter(want, wantSize, dirSync)
	if err != nil {
		return "", 0, err
	}
	defer b.Abort()
	if wantSize >= 0 {
		// One byte more than announced is enough to know it is wrong: a
		// hostile source cannot fill the disk past what it declared.
		r = io.LimitReader(r, wantSize+1)
	}
	// io.Copy's 32 KiB made a 50 MiB layer 1,600 writes; readSize makes it 50.
	buf := ingestReadBuffers.get()
	_, err = io.CopyBuffer(b, r, buf.b)
	ingestReadBuffers.put(buf)
	if err != nil && b.err == nil {
		// A read error; a write error (or too many bytes) Commit reports.
		return "", 0, fmt.Errorf("write blob: %w", err)
	}
	return b.Commit()
}

// VerifyBlob reads a stored blob whole and checks that its bytes hash to
// its name and, when size >= 0, that it has that size. The error wraps
// ErrInvalidDigest for a damaged copy, ErrNotFound for a missing one.
func (s *Store) VerifyBlob(d digest.Digest, size int64) error {
	f, err := s.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	digester := d.Algorithm().Digester()
	n, err := io.Copy(digester.Hash(), f)
	if err != nil {
		return fmt.Errorf("read blob %s: %w", d, err)
	}
	if got := digester.Digest(); got != d || (size >= 0 && n != size) {
		return fmt.Errorf("blob %s: stored copy hashes to %s (%d bytes): %w", d, got, n, ErrInvalidDigest)
	}
	return nil
}

// PutBlobBytes stores a small blob.
func (s *Store) PutBlobBytes(data []byte) (digest.Digest, error) {
	return s.putBlobBytes(data, true)
}

func (s *Store) putBlobBytes(data []byte, dirSync bool) (digest.Digest, error) {
	d := digest.FromBytes(data)
	if s.HasBlob(d) {
		return d, nil
	}
	if s.inBatch() {
		return d, s.putBlobUnsynced(d, data)
	}
	got, _, err := s.putBlob(strings.NewReader(string(data)), d, int64(len(data)), dirSync)
	return got, err
}

// syncBlobDir makes the names of the blobs ingested without a directory
// sync (IngestBlob) durable: called once before index.json names them. In
// a batch it leaves them to the syncfs before the batch's index write.
func (s *Store) syncBlobDir() error {
	if s.inBatch() {
		s.unsynced.Store(true)
		return nil
	}
	s.blobDirSync.Add(1)
	if err := syncDir(s.blobDir()); err != nil {
		return fmt.Errorf("sync blob directory: %w", err)
	}
	return nil
}

// PutJSON marshals v and stores it as a blob, returning its descriptor.
func (s *Store) PutJSON(mediaType string, v any) (ocispec.Descriptor, []byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	d, err := s.PutBlobBytes(data)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}, data, nil
}

// listBlobs lists the digests of every blob present.
func (s *Store) listBlobs() ([]digest.Digest, error) {
	entries, err := os.ReadDir(s.blobDir())
	if err != nil {
		return nil, err
	}
	var out []digest.Digest
	for _, e := range entries {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() == nil {
			out = append(out, d)
		}
	}
	return out, nil
}

// DeleteBlob removes a blob; a missing one is success.
func (s *Store) DeleteBlob(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return err
	}
	err := os.Remove(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// ambiguousError is Docker's error for an ID prefix that names more than
// one image or container; it wraps ErrAmbiguous (an API 400).
type ambiguousError string

func (e ambiguousError) Error() string {
	return "Multiple IDs found with provided prefix: " + string(e)
}

func (e ambiguousError) Is(target error) bool { return target == ErrAmbiguous }

func (e ambiguousError) ErrClass() errdefs.Class { return errdefs.InvalidParameter }
