// Package imagearchive reads and writes image archives, the files of
// `save` and `load`, as moby's tarexport: one tar that is at the same time
// an OCI image layout (oci-layout, index.json, blobs/sha256/...) and a
// docker-archive (manifest.json, repositories).
//
// Save reads images and blobs from a Source; Load stages and verifies an
// archive completely (every blob against its digest and size, every layer
// against its diff ID) before it stores anything in a Target, and lists the
// images and their names in one index update at the end. Both interfaces
// are the few store methods they use; *store.Store is both.
package imagearchive
