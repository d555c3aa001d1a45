//go:build linux && !amd64

package runtime

// nativeAuditArch is unknown off x86-64: Berth has no syscall table for
// other architectures yet, so CompileSeccomp refuses (see seccomp_linux.go).
const nativeAuditArch = 0

var syscallEntries []syscallEntry
