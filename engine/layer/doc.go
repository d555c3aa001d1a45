// Package layer turns a container's file system changes into an OCI layer and
// back: Diff walks an overlay upper dir and streams a deterministic, compressed
// layer tar while computing its diff ID, blob digest and a snapshot summary;
// Apply unpacks a layer, possibly hostile, into a directory without ever
// touching anything outside it.
//
// A build step in the classic builder is exactly one round trip through this
// package: the step's container writes into its overlay upper dir, Diff turns
// that dir into a layer blob ("take a file system snapshot"), and before the
// next step runs Apply unpacks the blob into a new overlay lower dir.
//
// # Whiteouts
//
// Overlayfs records a deleted file as a character device 0/0 and a directory
// whose lower contents are hidden ("opaque") with the xattr
// trusted.overlay.opaque=y. An OCI layer records the same two facts as empty
// files named ".wh.<name>" and "<dir>/.wh..wh..opq". Diff converts the first
// form to the second; Apply converts back (WhiteoutOverlay, for a lower dir)
// or applies them by deleting (WhiteoutDelete, to flatten layers into one
// plain root file system).
//
// # Safety
//
// Apply resolves every path inside the target with openat2(RESOLVE_IN_ROOT),
// so a symlink in the layer, absolute or full of "..", is followed as if the
// target were "/" and can never lead out of it; the last path component is
// never followed. Names that would climb out of the root, whiteouts of "." or
// "..", and entries that would replace the root itself with anything but a
// directory are refused with an error wrapping ErrUnsafe. See docs/layers.md.
package layer
