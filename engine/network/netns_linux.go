package network

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// ListenUDPIn opens a UDP socket bound to addr inside the network
// namespace of process pid. A socket stays in the namespace it was made
// in, so this process serves it from its own namespace (and forwards from
// there). The work happens on a thread of its own, which is only handed
// back to Go once it is in this process's namespace again.
func ListenUDPIn(pid int, addr string) (net.PacketConn, error) {
	type result struct {
		pc  net.PacketConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer self.Close()
		target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{nil, fmt.Errorf("enter the container's network namespace: %w", err)}
			return
		}
		pc, lerr := net.ListenPacket("udp4", addr)
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the thread ends with this goroutine, still locked
		ch <- result{pc, lerr}
	}()
	r := <-ch
	return r.pc, r.err
}
