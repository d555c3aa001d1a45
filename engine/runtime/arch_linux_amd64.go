package runtime

import "golang.org/x/sys/unix"

// nativeAuditArch is the AUDIT_ARCH value seccomp reports for native syscalls.
const nativeAuditArch = unix.AUDIT_ARCH_X86_64
