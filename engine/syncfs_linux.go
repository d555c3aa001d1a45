package engine

import "golang.org/x/sys/unix"

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
