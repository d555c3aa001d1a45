package runtime

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// capNames maps capability numbers to their names (without "CAP_").
var capNames = []string{
	0: "CHOWN", 1: "DAC_OVERRIDE", 2: "DAC_READ_SEARCH", 3: "FOWNER", 4: "FSETID",
	5: "KILL", 6: "SETGID", 7: "SETUID", 8: "SETPCAP", 9: "LINUX_IMMUTABLE",
	10: "NET_BIND_SERVICE", 11: "NET_BROADCAST", 12: "NET_ADMIN", 13: "NET_RAW",
	14: "IPC_LOCK", 15: "IPC_OWNER", 16: "SYS_MODULE", 17: "SYS_RAWIO",
	18: "SYS_CHROOT", 19: "SYS_PTRACE", 20: "SYS_PACCT", 21: "SYS_ADMIN",
	22: "SYS_BOOT", 23: "SYS_NICE", 24: "SYS_RESOURCE", 25: "SYS_TIME",
	26: "SYS_TTY_CONFIG", 27: "MKNOD", 28: "LEASE", 29: "AUDIT_WRITE",
	30: "AUDIT_CONTROL", 31: "SETFCAP", 32: "MAC_OVERRIDE", 33: "MAC_ADMIN",
	34: "SYSLOG", 35: "WAKE_ALARM", 36: "BLOCK_SUSPEND", 37: "AUDIT_READ",
	38: "PERFMON", 39: "BPF", 40: "CHECKPOINT_RESTORE",
}

// DefaultCapabilities are Docker's 14 default capabilities; as a mask they
// are 0x00000000a80425fb, what /proc/self/status shows as CapEff for root
// in a default container.
var DefaultCapabilities = []string{
	"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
	"SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
	"AUDIT_WRITE",
}

// CapSet is a set of capabilities as a bit mask (bit n = capability n).
type CapSet uint64

// Has reports whether capability number n is in the set.
func (s CapSet) Has(n int) bool { return n >= 0 && n < 64 && s&(1<<uint(n)) != 0 }

// Names lists the set's capabilities as "CAP_..." names, sorted.
func (s CapSet) Names() []string {
	var out []string
	for n := 0; n < 64; n++ {
		if s.Has(n) {
			out = append(out, "CAP_"+capName(n))
		}
	}
	sort.Strings(out)
	return out
}

func capName(n int) string {
	if n < len(capNames) && capNames[n] != "" {
		return capNames[n]
	}
	return strconv.Itoa(n)
}

// capNumber parses "NET_ADMIN", "CAP_NET_ADMIN" or "net_admin".
func capNumber(name string) (int, error) {
	up := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "CAP_")
	for n, c := range capNames {
		if c == up {
			return n, nil
		}
	}
	return 0, fmt.Errorf("unknown capability: %q", name)
}

// lastCap is the highest capability the kernel knows.
var lastCap = sync.OnceValue(func() int {
	if n, ok := kernelLastCap(); ok {
		return n
	}
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && n < 64 {
			return n
		}
	}
	return len(capNames) - 1
})

// allCaps is every capability the kernel knows.
func allCaps() CapSet {
	n := lastCap()
	return CapSet(uint64(1)<<uint(n+1) - 1)
}

// Capabilities computes the set a container gets: Docker's defaults (all
// of them when privileged), plus CapAdd, minus CapDrop. "ALL" adds or drops
// everything; as in Docker, adding wins over dropping ALL, and dropping a
// capability wins over adding ALL.
func Capabilities(sec Security) (CapSet, error) {
	set := CapSet(0)
	if sec.Privileged {
		return allCaps(), nil
	}
	for _, name := range DefaultCapabilities {
		n, _ := capNumber(name)
		set |= 1 << uint(n)
	}
	parse := func(list []string) (all bool, caps CapSet, err error) {
		for _, name := range list {
			if strings.EqualFold(strings.TrimPrefix(strings.ToUpper(name), "CAP_"), "ALL") {
				all = true
				continue
			}
			n, err := capNumber(name)
			if err != nil {
				return false, 0, err
			}
			caps |= 1 << uint(n)
		}
		return all, caps, nil
	}
	addAll, add, err := parse(sec.CapAdd)
	if err != nil {
		return 0, err
	}
	dropAll, drop, err := parse(sec.CapDrop)
	if err != nil {
		return 0, err
	}
	if dropAll {
		set = 0
	}
	if addAll {
		set = allCaps()
	}
	set |= add
	set &^= drop
	return set & allCaps(), nil
}
