//go:build linux && !amd64

package runtime

// precompiledDefault: none for this architecture (seccomp_default_linux.go).
const precompiledDefault = ""
