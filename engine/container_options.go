package engine

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine/errdefs"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
)

// ErrLogsNotSupported is returned by ContainerLogs for a container whose
// log driver keeps nothing to read (--log-driver none), in Docker's words.
var ErrLogsNotSupported = errdefs.New(errdefs.NotImplemented, "configured logging driver does not support reading")

// Log drivers berth implements.
const (
	LogDriverJSONFile = "json-file"
	LogDriverNone     = "none"
)

// validateNamespaceModes checks --pid, --uts and --ipc: berth gives a
// container namespaces of its own or shares the host's; joining another
// container's is not implemented.
func validateNamespaceModes(opts ContainerCreateOptions) error {
	modes := []struct{ flag, kind, value string }{
		{"--pid", "PID", opts.PidMode}, {"--uts", "UTS", opts.UTSMode}, {"--ipc", "IPC", opts.IpcMode},
	}
	for _, m := range modes {
		switch {
		case m.value == "" || m.value == "host":
		case m.kind == "IPC" && (m.value == "private" || m.value == "shareable"):
			// A namespace of its own: what berth gives every container.
		case strings.HasPrefix(m.value, "container:"):
			return fmt.Errorf("%s %s is not supported by berth: it offers \"host\" or a namespace of the container's own", m.flag, m.value)
		default:
			return fmt.Errorf("invalid %s mode: %s", m.kind, m.value)
		}
	}
	if opts.UTSMode == "host" && opts.Hostname != "" {
		return errors.New("Conflicting options: hostname and the UTS mode")
	}
	return nil
}

func validateTmpfs(tmpfs map[string]string) error {
	for dest, options := range tmpfs {
		if _, err := runtime.TmpfsMount(dest, options); err != nil {
			return err
		}
	}
	return nil
}

// parseCPUList parses a cpuset list ("0-2,4") into its members.
func parseCPUList(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, errors.New("bad number")
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1<<16 {
				return nil, errors.New("bad range")
			}
		}
		for i := a; i <= b; i++ {
			out[i] = true
		}
	}
	return out, nil
}

// validateCpuset checks --cpuset-cpus/--cpuset-mems as Docker's daemon
// does: well formed, and within what this machine has.
func validateCpuset(kind, value, file string) error {
	if value == "" {
		return nil // no file read: every container create came here
	}
	want, err := parseCPUList(value)
	if err != nil {
		return fmt.Errorf("Invalid value %s for cpuset %s", value, kind)
	}
	available := onlineList(file)
	have, err := parseCPUList(strings.TrimSpace(available))
	if available == "" || err != nil {
		return nil // nothing to compare with: the kernel will say
	}
	for n := range want {
		if !have[n] {
			return fmt.Errorf("Requested %s are not available - requested %s, available: %s", map[string]string{"cpus": "CPUs", "mems": "memory nodes"}[kind], value, strings.TrimSpace(available))
		}
	}
	return nil
}

func onlineList(file string) string {
	data, _ := os.ReadFile(file)
	return string(data)
}

// validateLogConfig checks --log-driver and --log-opt: json-file (the
// default) with max-size and max-file, or none.
func validateLogConfig(driver string, opts map[string]string) error {
	switch driver {
	case "", LogDriverJSONFile:
		driver = LogDriverJSONFile
	case LogDriverNone:
	default:
		return fmt.Errorf("logger: no log driver named '%s' is registered: berth offers json-file (the default) and none", driver)
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if driver == LogDriverNone || (k != "max-size" && k != "max-file") {
			return fmt.Errorf("unknown log opt '%s' for %s log driver", k, driver)
		}
	}
	_, _, err := logLimits(opts)
	return err
}

// logLimits reads json-file's max-size (bytes, 0 for no limit) and
// max-file (files kept, 1 unless set).
func logLimits(opts map[string]string) (maxSize int64, maxFile int, err error) {
	maxFile = 1
	if s, ok := opts["max-size"]; ok {
		if maxSize, err = ramInBytes(s); err != nil || maxSize <= 0 {
			return 0, 0, fmt.Errorf("invalid log opt max-size %q: want a size such as 10m", s)
		}
	}
	if s, ok := opts["max-file"]; ok {
		if maxFile, err = strconv.Atoi(s); err != nil {
			return 0, 0, fmt.Errorf("invalid log opt max-file %q: want a number", s)
		}
		if maxFile < 1 {
			return 0, 0, errors.New("max-file cannot be less than 1")
		}
		if maxFile > 1 && maxSize == 0 {
			return 0, 0, errors.New("max-file can only be set when max-size is set")
		}
	}
	return maxSize, maxFile, nil
}

// ramInBytes is go-units' RAMInBytes: "512m", "1g", "1.5GB", "100000".
func ramInBytes(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "b")
	mult := int64(1)
	if t != "" {
		if i := strings.IndexByte("kmgtp", t[len(t)-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	return int64(n * float64(mult)), nil
}

// validateExtraOptions checks the options this file implements.
func validateExtraOptions(opts ContainerCreateOptions) error {
	if err := validateNamespaceModes(opts); err != nil {
		return err
	}
	if err := validateTmpfs(opts.Tmpfs); err != nil {
		return err
	}
	if opts.StopSignal != "" {
		if _, err := ParseSignal(opts.StopSignal); err != nil {
			return fmt.Errorf("Invalid signal: %s", opts.StopSignal)
		}
	}
	if opts.StopTimeout != nil && *opts.StopTimeout < -1 {
		return fmt.Errorf("invalid stop timeout %d: want seconds, or -1 to wait forever", *opts.StopTimeout)
	}
	if opts.CPUShares < 0 {
		return fmt.Errorf("invalid CPU shares %d: want a positive weight (1024 is the default)", opts.CPUShares)
	}
	if err := validateCpuset("cpus", opts.CpusetCpus, "/sys/devices/system/cpu/online"); err != nil {
		return err
	}
	if err := validateCpuset("mems", opts.CpusetMems, "/sys/devices/system/node/online"); err != nil {
		return err
	}
	return validateLogConfig(opts.LogDriver, opts.LogOpts)
}

// applyExtraOptions records the options of this file in the container.
func applyExtraOptions(c *store.Container, opts ContainerCreateOptions) {
	h := &c.Host
	h.PidMode, h.UTSMode, h.IpcMode = opts.PidMode, opts.UTSMode, opts.IpcMode
	h.Tmpfs = opts.Tmpfs
	h.CPUShares, h.CpusetCpus, h.CpusetMems = opts.CPUShares, opts.CpusetCpus, opts.CpusetMems
	h.LogConfig = store.LogConfig{Type: opts.LogDriver, Config: opts.LogOpts}
	if h.LogConfig.Type == "" {
		h.LogConfig.Type = LogDriverJSONFile
	}
	if opts.StopSignal != "" {
		c.Config.StopSignal = opts.StopSignal
	}
	c.Config.StopTimeout = opts.StopTimeout
}

// extraSpec adds the options of this file to the runtime spec.
func extraSpec(c *store.Container, spec *runtime.Spec) error {
	h := c.Host
	spec.HostPID, spec.HostUTS, spec.HostIPC = h.PidMode == "host", h.UTSMode == "host", h.IpcMode == "host"
	if spec.HostIPC {
		// The host's IPC namespace comes with its POSIX shared memory.
		spec.Mounts = append(spec.Mounts, runtime.Mount{Source: "/dev/shm", Destination: "/dev/shm", Type: "bind"})
	}
	dests := make([]string, 0, len(h.Tmpfs))
	for d := range h.Tmpfs {
		dests = append(dests, d)
	}
	sort.Strings(dests) // parents before children
	for _, d := range dests {
		m, err := runtime.TmpfsMount(d, h.Tmpfs[d])
		if err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, m)
	}
	spec.Resources.CPUShares = h.CPUShares
	spec.Resources.CpusetCpus, spec.Resources.CpusetMems = h.CpusetCpus, h.CpusetMems
	return nil
}

// stopTimeoutOf is how long stop waits for c before SIGKILL when the
// caller does not say: its --stop-timeout, else Docker's 10 seconds.
func stopTimeoutOf(c *store.Container) int {
	if c.Config.StopTimeout != nil {
		return *c.Config.StopTimeout
	}
	return 10
}
