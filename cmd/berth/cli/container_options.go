package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// moreContainerFlags are run's and create's namespace, tmpfs, stop, CPU
// and logging flags.
type moreContainerFlags struct {
	pid, uts, ipc          string
	tmpfs                  []string
	stopSignal             string
	stopTimeout            int
	cpuShares              int64
	cpusetCpus, cpusetMems string
	logDriver              string
	logOpts                []string
	// refused collects the values of docker run flags berth refuses.
	refused []string
}

// refusedContainerFlags are docker run's flags that berth does not
// implement: accepted by the parser, so that the refusal names the flag
// instead of calling it unknown, and refused when given. Networking and
// volume flags are not here: those parts of berth own their flags.
var refusedContainerFlags = []string{
	"restart", "device", "device-cgroup-rule", "gpus", "runtime", "cgroupns", "cgroup-parent",
	"userns", "ulimit", "sysctl", "shm-size", "oom-score-adj", "memory-reservation",
	"memory-swap", "memory-swappiness", "kernel-memory", "cpu-period", "cpu-quota", "cpu-rt-period",
	"cpu-rt-runtime", "blkio-weight", "blkio-weight-device", "device-read-bps", "device-write-bps",
	"device-read-iops", "device-write-iops", "health-cmd", "health-interval", "health-retries",
	"health-timeout", "health-start-period", "health-start-interval", "domainname", "storage-opt",
	"isolation", "annotation", "cidfile", "attach", "detach-keys", "label-file", "cpu-count",
	"cpu-percent", "io-maxbandwidth", "io-maxiops",
}

// refusedBoolFlags are the refused flags that take no value.
var refusedBoolFlags = []string{"oom-kill-disable"}

func addMoreContainerFlags(f *pflag.FlagSet, o *moreContainerFlags) {
	f.StringVar(&o.pid, "pid", "", `PID namespace to use: "host", or the container's own`)
	f.StringVar(&o.uts, "uts", "", `UTS namespace to use: "host", or the container's own`)
	f.StringVar(&o.ipc, "ipc", "", `IPC mode to use: "host", or "private" (the default)`)
	stringArrayVarP(f, &o.tmpfs, "tmpfs", "", "mount a tmpfs directory (/path[:options])")
	f.StringVar(&o.stopSignal, "stop-signal", "", "signal to stop the container")
	f.IntVar(&o.stopTimeout, "stop-timeout", 0, "timeout (in seconds) to stop a container")
	f.Int64VarP(&o.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	f.StringVar(&o.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	f.StringVar(&o.logDriver, "log-driver", "", `logging driver for the container: "json-file" (the default) or "none"`)
	stringArrayVarP(f, &o.logOpts, "log-opt", "", "log driver options (json-file: max-size, max-file)")
	for _, name := range refusedContainerFlags {
		stringArrayVarP(f, &o.refused, name, "", "not supported by berth")
		_ = f.MarkHidden(name)
	}
	for _, name := range refusedBoolFlags {
		f.Bool(name, false, "not supported by berth")
		_ = f.MarkHidden(name)
	}
	f.Bool("no-healthcheck", false, "disable any container-specified HEALTHCHECK (berth runs none)")
	f.Bool("disable-content-trust", true, "skip image verification (berth has no content trust)")
}

// refusedFlag is the first refused docker run flag given, as an error.
func refusedFlag(cmd *cobra.Command) error {
	for _, name := range append(append([]string{}, refusedContainerFlags...), refusedBoolFlags...) {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s is not supported by berth: remove it (docs/containers.md lists the options berth applies)", name)
		}
	}
	if v, _ := cmd.Flags().GetBool("disable-content-trust"); !v {
		return fmt.Errorf("--disable-content-trust=false is not supported by berth: it verifies images by digest, without Docker Content Trust")
	}
	return nil
}

// apply adds the flags to the engine's options.
func (o *moreContainerFlags) apply(cmd *cobra.Command, opts *engine.ContainerCreateOptions) error {
	if err := refusedFlag(cmd); err != nil {
		return err
	}
	opts.PidMode, opts.UTSMode, opts.IpcMode = o.pid, o.uts, o.ipc
	for _, t := range o.tmpfs {
		dest, options, _ := strings.Cut(t, ":")
		if opts.Tmpfs == nil {
			opts.Tmpfs = map[string]string{}
		}
		opts.Tmpfs[dest] = options
	}
	opts.StopSignal = o.stopSignal
	if cmd.Flags().Changed("stop-timeout") {
		n := o.stopTimeout
		opts.StopTimeout = &n
	}
	opts.CPUShares, opts.CpusetCpus, opts.CpusetMems = o.cpuShares, o.cpusetCpus, o.cpusetMems
	opts.LogDriver = o.logDriver
	for _, kv := range o.logOpts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("invalid key/value pair format in logging opts: %s", kv)
		}
		if opts.LogOpts == nil {
			opts.LogOpts = map[string]string{}
		}
		opts.LogOpts[k] = v
	}
	return nil
}

// refusedBuildFlags are docker build's (classic builder) flags that berth
// does not implement: parsed, so the refusal names them, and refused.
var refusedBuildFlags = []string{
	"add-host", "cache-from", "cgroup-parent", "cpu-period", "cpu-quota", "cpuset-cpus",
	"cpuset-mems", "isolation", "memory-swap", "security-opt", "shm-size", "ulimit",
}

// refusedBuildShortFlags are refused flags with a one-letter form.
var refusedBuildShortFlags = map[string]string{"cpu-shares": "c", "memory": "m"}

// refusedBuildBoolFlags take no value.
var refusedBuildBoolFlags = []string{"squash", "compress"}

func addRefusedBuildFlags(f *pflag.FlagSet) {
	for _, name := range refusedBuildFlags {
		stringArrayVarP(f, new([]string), name, "", "not supported by berth")
		_ = f.MarkHidden(name)
	}
	for name, short := range refusedBuildShortFlags {
		stringArrayVarP(f, new([]string), name, short, "not supported by berth")
		_ = f.MarkHidden(name)
	}
	for _, name := range refusedBuildBoolFlags {
		f.Bool(name, false, "not supported by berth")
		_ = f.MarkHidden(name)
	}
	f.Bool("disable-content-trust", true, "skip image verification (berth has no content trust)")
	_ = f.MarkHidden("disable-content-trust")
}

// refusedBuildFlag is the first refused docker build flag given, as an
// error with exit code 125.
func refusedBuildFlag(cmd *cobra.Command) error {
	names := append(append([]string{}, refusedBuildFlags...), refusedBuildBoolFlags...)
	for name := range refusedBuildShortFlags {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			return &ExitError{Code: 125, Err: fmt.Errorf("--%s is not supported by berth build: remove it (docs/build.md lists the options berth applies)", name)}
		}
	}
	if v, _ := cmd.Flags().GetBool("disable-content-trust"); !v {
		return &ExitError{Code: 125, Err: fmt.Errorf("--disable-content-trust=false is not supported by berth: it verifies images by digest, without Docker Content Trust")}
	}
	return nil
}
