package engine

import "golang.org/x/sys/unix"

// syncUpper syncs a step's upper dir before the store adopts it (a test
// replaces it to see the order).
var syncUpper = syncDirFS

// syncDirFS makes everything written to dir's file system durable
// (syncfs(2)).
func syncDirFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}
