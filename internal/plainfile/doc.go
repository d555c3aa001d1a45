// Package plainfile opens files for reading outside Go's poller. os.Open
// tries the poller with every file it opens: two fcntl calls to make the
// descriptor non-blocking, an epoll_ctl that a regular file, a directory
// or a /proc file refuses, and two more fcntl calls to make it blocking
// again. A file opened here costs its open(2) and the one fcntl of
// os.NewFile. It imports nothing of berth's, so any package may use it.
//
// Only for files whose reads never need a deadline or a Close from another
// goroutine to end them: regular files and directories.
package plainfile
