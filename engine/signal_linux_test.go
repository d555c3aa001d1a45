package engine

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The table used off Linux must give Linux's numbers: a signal named on a
// Mac for a daemon on Linux reaches a Linux process.
func TestLinuxSignalTableMatchesLinux(t *testing.T) {
	for n := 1; n < 32; n++ {
		name := unix.SignalName(syscall.Signal(n))
		if name == "" {
			continue
		}
		if got := linuxSignals[name]; got != n {
			t.Errorf("linuxSignals[%s] = %d, Linux says %d", name, got, n)
		}
	}
	for name, n := range linuxSignals {
		if s := unix.SignalNum(name); s != 0 && int(s) != n {
			t.Errorf("linuxSignals[%s] = %d, Linux says %d", name, n, s)
		}
	}
}

func TestParseSignalNamesAndNumbers(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"KILL": 9, "sigterm": 15, "SIGUSR1": 10, "hup": 1, "9": 9} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "NOPE", "0", "65", "SIG"} {
		if _, err := ParseSignal(bad); err == nil {
			t.Errorf("ParseSignal(%q) succeeded", bad)
		}
	}
}
