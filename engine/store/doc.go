// Package store keeps Berth's images, layers, containers and build cache on
// disk, in a directory that is at the same time a valid OCI image layout
// (oci-layout, index.json, blobs/sha256), so skopeo, umoci and podman can read
// it directly.
//
// Layout under the root:
//
//	oci-layout, index.json, blobs/sha256/<hex>   the OCI image layout
//	layers/<chainID hex>/                        unpacked layers (overlay lower dirs)
//	containers/<id>/                             container records and their snapshots
//	volumes/<name>/{volume.json,_data/}          volumes (volumes.go)
//	cache/<parent hex>/<key hex>.json            the classic builder's cache index
//	tmp/                                         ingest files, renamed into place when complete
//
// Every image is listed in index.json: once per tag, with the full reference
// in the org.opencontainers.image.ref.name annotation, or once without that
// annotation when it has no tag (intermediate build images, dangling images).
// Berth's own facts about an image (its parent, its unpacked size) ride along
// as annotations on those entries.
//
// Only this package reads and writes index.json and indexes.json: every
// verb that lists an image or moves a name goes through PutImage,
// ImportManifest, ListImages (a load), Tag, Untag, DeleteImage or PutIndex,
// which move names with one pair of functions (tags.go) and give a new
// entry its facts with one (imageAnnotations).
//
// Writes are atomic: a blob is written to an ingest file, checked, fsynced and
// renamed; index.json is rewritten to a temporary file and renamed, under an
// exclusive lock, by the one file writer of atomic.go (WriteFileAtomic, and
// WriteFileReplace without fsync for records that change at every container
// start). A process killed at any point leaves a readable store with no
// reference to a partial image; the next Open that finds itself alone
// removes the leftovers.
//
// The methods of *Store are grouped by what callers do with them into small
// interfaces (interfaces.go): BlobStore, ImageStore, IndexStore, LayerStore,
// ContainerStore, VolumeStore, BuildCache and Maintainer.
package store
