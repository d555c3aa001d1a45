//go:build !linux

package runtime

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// ErrUnsupported is returned off Linux: containers need Linux namespaces.
var ErrUnsupported = errors.New("running containers needs Linux (namespaces, overlayfs, cgroups); lessons replay recorded traces on any system")

// Container is a started container; off Linux none can be started.
type Container struct {
	Pid       int
	StartTime uint64
}

// Console returns nil off Linux.
func (c *Container) Console() *os.File { return nil }

// Signal fails off Linux.
func (c *Container) Signal(sig syscall.Signal) error { return ErrUnsupported }

// Wait fails off Linux.
func (c *Container) Wait() (ExitStatus, error) { return ExitStatus{}, ErrUnsupported }

// Cgroup is a container's cgroup; off Linux there is none.
type Cgroup struct{}

// CgroupFor returns an empty Cgroup off Linux.
func CgroupFor(parent, id string) *Cgroup { return &Cgroup{} }

// Cgroup returns nil off Linux.
func (c *Container) Cgroup() *Cgroup { return nil }

// WaitMounts returns at once: there are no containers here.
func (c *Container) WaitMounts() {}

// Create fails off Linux.
func (c *Cgroup) Create(r Resources) error { return ErrUnsupported }

// Add fails off Linux.
func (c *Cgroup) Add(pid int) error { return ErrUnsupported }

// Pids fails off Linux.
func (c *Cgroup) Pids() ([]int, error) { return nil, ErrUnsupported }

// Freeze fails off Linux.
func (c *Cgroup) Freeze() error { return ErrUnsupported }

// Thaw fails off Linux.
func (c *Cgroup) Thaw() error { return ErrUnsupported }

// Frozen is false off Linux.
func (c *Cgroup) Frozen() bool { return false }

// OOMKilled is false off Linux.
func (c *Cgroup) OOMKilled() bool { return false }

// Destroy does nothing off Linux.
func (c *Cgroup) Destroy() error { return nil }

// RemoveCgroupParents does nothing off Linux.
func RemoveCgroupParents(parent string) {}

// Init fails off Linux.
func Init(args []string) int { return CodeEngine }

// Start fails off Linux.
func Start(spec *Spec, stdio IO) (*Container, error) { return nil, ErrUnsupported }

// Exec fails off Linux.
func Exec(pid int, start uint64, spec *Spec, stdio IO) (*Container, error) {
	return nil, ErrUnsupported
}

// ProcessStartTime fails off Linux.
func ProcessStartTime(pid int) (uint64, error) { return 0, ErrUnsupported }

// ProcessAlive is false off Linux.
func ProcessAlive(pid int, start uint64) bool { return false }

// Kill fails off Linux.
func Kill(pid int, start uint64, sig syscall.Signal) error { return ErrUnsupported }

// SetConsoleSize fails off Linux.
func SetConsoleSize(console *os.File, rows, cols uint16) error { return ErrUnsupported }

// WriteInitLayer fails off Linux.
func WriteInitLayer(dir string) error { return ErrUnsupported }

// WaitExit reports true at once off Linux: there is nothing to wait for.
func WaitExit(pid int, start uint64, timeout time.Duration) bool { return true }

// Paths is empty off Linux.
func (c *Cgroup) Paths() map[string]string { return nil }

// kernelLastCap: no capabilities off Linux.
func kernelLastCap() (int, bool) { return 0, false }

// readEtcFile reads at most limit bytes of path.
func readEtcFile(path string, limit int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)))
	return string(data), err
}

// StartSpare does nothing off Linux: no init is started ahead.
func StartSpare(s *Spec) {}

// DiscardSpare does nothing off Linux: no init is started ahead.
func DiscardSpare(id string) bool { return false }

// RemoveStrayCgroups does nothing off Linux: there are no cgroups.
func RemoveStrayCgroups(parent string, inUse func(id string) bool) bool { return false }
