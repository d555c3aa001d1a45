//go:build !linux

package runtime

import "io"

// RootlessEnv is set inside berth's user namespace (Linux only).
const RootlessEnv = "BERTH_ROOTLESS"

// EnterRootless does nothing off Linux: there are no user namespaces.
func EnterRootless(args []string, warn io.Writer) (int, bool) { return 0, false }

// InUserNS is false off Linux.
func InUserNS() bool { return false }

// Rootless is false off Linux.
func Rootless() (bool, string) { return false, "" }

// RootlessUnavailable says why there is no rootless mode off Linux.
func RootlessUnavailable() string { return "user namespaces need Linux" }

// IDMaps is empty off Linux.
func IDMaps() (uids, gids string) { return "", "" }

// Delegation is the user's delegated cgroup subtree; none off Linux.
type Delegation struct {
	Dir         string
	Controllers []string
	Why         string
}

// CgroupDelegation finds none off Linux.
func CgroupDelegation() Delegation { return Delegation{Why: "cgroups need Linux"} }
