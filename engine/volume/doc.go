// Package volume parses Docker's mount specifications: the -v/--volume
// short form ("/host:/in/container:ro", "name:/data", "/data") and the
// --mount key=value form ("type=bind,source=/host,target=/in,readonly"),
// into one Mount, and validates it with the Docker daemon's wording.
//
// The parsing is pure (no file system access beyond the optional
// bind-source check the caller asks for) so it builds and is tested on
// every platform. CopyUp (Linux) fills an empty volume with what an image
// holds at the mount's path, as Docker does when it creates a container.
package volume
