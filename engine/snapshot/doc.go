// Package snapshot manages the writable overlay snapshot of each container,
// in the spirit of containerd's Snapshotter.
//
// A snapshot is keyed by a container ID and lives in the container's
// directory (containers/<id>/): upper holds the container's changes, work is
// overlayfs's scratch space, merged is where the union is mounted, and l/
// holds one short symlink per lower dir so that the mount options stay
// short. The lower dirs are the image's unpacked layers (layers/<chainID>),
// read-only and shared by every container of the image.
//
// The lifecycle of a build step, worked through:
//
//	sn := snapshot.New(store.ContainersDir())
//	// Prepare: the image's layers, top first; no layers means an empty lower.
//	mounts, _ := sn.Prepare(id, []string{root + "/layers/<chain2>", root + "/layers/<chain1>"})
//	// Run the step with mounts as its root (the runtime mounts them inside
//	// the container's own mount namespace, so they vanish with it), or mount
//	// them on the host at containers/<id>/merged with sn.Mount(id).
//	// Commit: the upper dir *is* the step's change set; layer.Diff(upper)
//	// turns it into a layer blob, and the layer becomes the next step's lower.
//	sn.Unmount(id) // if it was mounted on the host
//	sn.Remove(id)  // upper, work, merged and l/ are gone
//
// Overlayfs reads its options from one page of memory (4096 bytes), so a long
// list of absolute lower dirs does not fit: 60 layers under /var/lib/berth
// take about 5,200 bytes. The mount therefore runs with its working
// directory set to the snapshot's directory and names the lower dirs through
// the short symlinks l/0, l/1, ..., as Docker's overlay2 driver does with its
// l/ directory. That fits the kernel's own limit of 500 lower layers.
package snapshot
