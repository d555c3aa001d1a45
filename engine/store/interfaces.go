package store

import (
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The store's methods, grouped by what a caller does with them, as
// containerd's content and image stores or go-containerregistry's small
// interfaces. *Store implements every group. A caller that needs one part
// of the store names the group (or, as engine/imagearchive does, declares
// the few methods it uses), so what it may touch is visible in its
// signature.

// BlobStore is the content-addressed blob store (blobs/sha256).
type BlobStore interface {
	HasBlob(d digest.Digest) bool
	BlobSize(d digest.Digest) (int64, error)
	OpenBlob(d digest.Digest) (*os.File, error)
	ReadBlob(d digest.Digest) ([]byte, error)
	PutBlob(r io.Reader, want digest.Digest, wantSize int64) (digest.Digest, int64, error)
	IngestBlob(r io.Reader, want digest.Digest, wantSize int64) (digest.Digest, int64, error)
	VerifyBlob(d digest.Digest, size int64) error
	DeleteBlob(d digest.Digest) error
}

// ImageStore lists images and their names: index.json, which only the
// store reads and writes.
type ImageStore interface {
	Image(nameOrID string) (*Image, error)
	Images() ([]*Image, error)
	PutImage(config ocispec.Image, layers []ocispec.Descriptor, opts ImageOptions) (*Image, error)
	ImportManifest(data []byte, opts ImportOptions) (*Image, error)
	ListImages(images []NewImage) ([]Listed, error)
	Tag(id digest.Digest, name string) (previous digest.Digest, err error)
	Untag(name string) (digest.Digest, error)
	DeleteImage(id digest.Digest) error
	ManifestBytes(img *Image) ([]byte, string, error)
	RepoDigests(manifest digest.Digest) ([]string, error)
	RepoDigestIndex() (map[digest.Digest][]string, error)
	SetRepoDigest(ref, repoDigest string) error
}

// IndexStore keeps multi-platform indexes pushed to `registry serve`
// (indexes.json), apart from the images.
type IndexStore interface {
	Indexes() ([]ocispec.Descriptor, error)
	PutIndex(data []byte, mediaType, ref string) (ocispec.Descriptor, error)
	IndexChild(d digest.Digest) (ocispec.Descriptor, bool, error)
	DropIndexName(ref string) (removed ocispec.Descriptor, ok bool, err error)
}

// LayerStore keeps unpacked layers, one directory per chain ID.
type LayerStore interface {
	LayerDir(chainID digest.Digest) string
	LayersDir() string
	CreateLayerDir(chainID digest.Digest, fill func(dir string) error) error
	AdoptLayerDir(chainID digest.Digest, dir string) error
}

// ContainerStore keeps container records and directories.
type ContainerStore interface {
	Container(idOrName string) (*Container, error)
	Containers() ([]*Container, error)
	ContainerNames() (map[string]string, error)
	ClaimContainerName(name, id string) (holder string, err error)
	ReleaseContainerName(name, id string) error
	ReadContainer(id string) (*Container, error)
	PutContainer(c *Container) error
	UpdateContainer(id string, fn func(*Container) error) (*Container, error)
	DeleteContainer(id string) error
	LockContainer(id string) (unlock func(), err error)
	ContainersDir() string
	ContainerDir(id string) string
	ContainerLogPath(id string) string
}

// VolumeStore keeps named volumes.
type VolumeStore interface {
	Volume(name string) (*Volume, error)
	Volumes() ([]*Volume, error)
	CreateVolume(name string, labels, options map[string]string) (*Volume, bool, error)
	DeleteVolume(name string) error
	VolumeDataDir(name string) string
	VolumeSize(name string) int64
}

// BuildCache is the classic builder's cache index (cache.go).
type BuildCache interface {
	CacheGet(parent digest.Digest, key string) (*CacheEntry, bool)
	CachePut(e CacheEntry) error
	CacheEntries(parent digest.Digest) ([]CacheEntry, error)
	CacheNewest(parent digest.Digest, group string) (*CacheEntry, bool)
	CacheEntryCount() int
}

// Maintainer is what keeps the store whole: its lock, batches, scratch
// space, garbage collection and repair.
type Maintainer interface {
	Root() string
	Lock() (unlock func(), err error)
	BeginBatch() (end func() error)
	TempDir(pattern string) (string, error)
	TmpDir() string
	GC() (GCResult, error)
	FindGarbage() (*Garbage, error)
	Repair() (*Garbage, error)
	Alone() bool
	CleanedAtOpen() []string
	Close() error
}

var (
	_ BlobStore      = (*Store)(nil)
	_ ImageStore     = (*Store)(nil)
	_ IndexStore     = (*Store)(nil)
	_ LayerStore     = (*Store)(nil)
	_ ContainerStore = (*Store)(nil)
	_ VolumeStore    = (*Store)(nil)
	_ BuildCache     = (*Store)(nil)
	_ Maintainer     = (*Store)(nil)
)
