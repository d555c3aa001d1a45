//go:build linux

package cli

import (
	"syscall"
	"testing"
)

// stubborn is a process that ignores every signal but SIGKILL, as a
// container's PID 1 without handlers does.
type stubborn struct {
	waiting chan struct{}
	got     chan syscall.Signal
	killed  chan struct{}
}

func (s *stubborn) Wait() (int, error) {
	close(s.waiting)
	<-s.killed
	return 137, nil
}

func (s *stubborn) Signal(sig syscall.Signal) error {
	s.got <- sig
	if sig == syscall.SIGKILL {
		close(s.killed)
	}
	return nil
}

func (s *stubborn) Resize(rows, cols uint16) error { return nil }

// The first SIGTERM is forwarded; a second one kills the process, so an
// attached run always ends.
func TestSecondStopSignalKills(t *testing.T) {
	s := &stubborn{waiting: make(chan struct{}), got: make(chan syscall.Signal, 4), killed: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		code, _ := waitAttached(s, attachSpec{sigProxy: true})
		done <- code
	}()
	<-s.waiting // the signal proxy is installed before Wait
	for _, want := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if got := <-s.got; got != want {
			t.Fatalf("process got %v, want %v", got, want)
		}
	}
	if code := <-done; code != 137 {
		t.Errorf("exit code %d, want 137", code)
	}
}
