package runtime

import (
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Compiling Docker's default profile takes a few hundred microseconds of
// CPU in every berth process that starts a container (every berth run),
// for the same program each time: so the program for the default
// capabilities is compiled when berth is built (precompiledDefault, in
// seccomp_default_linux_<arch>.go, written by
// `go test ./engine/runtime -run TestPrecompiledFilterIsCurrent -update-filter`
// and checked by that test) and compiled at run time only for other
// capability sets, other architectures and kernels older than the
// profile's one kernel-dependent rule (4.8).

// precompiledFilter is the precompiled program when caps are Docker's
// defaults and it applies to this kernel, else nil.
func precompiledFilter(caps CapSet) []unix.SockFilter {
	if caps != defaultCapSet() {
		return nil
	}
	return precompiled()
}

var precompiled = sync.OnceValue(func() []unix.SockFilter {
	if precompiledDefault == "" || !kernelAtLeast(4, 8) {
		return nil
	}
	prog, err := decodeFilter([]byte(precompiledDefault))
	if err != nil {
		return nil
	}
	return prog
})

var defaultCapSet = sync.OnceValue(func() CapSet {
	caps, _ := Capabilities(Security{})
	return caps
})

// kernelAtLeast reports whether the running kernel is major.minor or newer.
func kernelAtLeast(major, minor int) bool {
	var uts unix.Utsname
	if unix.Uname(&uts) != nil {
		return false
	}
	release := unix.ByteSliceToString(uts.Release[:])
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min2, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && min2 >= minor
}
