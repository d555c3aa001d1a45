//go:build !linux

package build

// syscallNoFollow is 0 off Linux: builds that write into a container's root
// run only on Linux, and Windows has no O_NOFOLLOW.
const syscallNoFollow = 0
