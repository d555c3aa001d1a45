package cli

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestRunAppliesNamespaceTmpfsStopCPUAndLogFlags(t *testing.T) {
	opts := parseRun(t, "--pid", "host", "--uts", "host", "--ipc", "host", "--tmpfs", "/run:size=1m,exec",
		"--tmpfs", "/scratch", "--stop-signal", "SIGUSR1", "--stop-timeout", "3", "-c", "512",
		"--cpuset-cpus", "0", "--cpuset-mems", "0", "--log-driver", "json-file", "--log-opt", "max-size=1k",
		"--log-opt", "max-file=2", "--no-healthcheck", "busybox", "true")
	co := opts.createOpt
	if co.PidMode != "host" || co.UTSMode != "host" || co.IpcMode != "host" {
		t.Errorf("namespaces %q %q %q", co.PidMode, co.UTSMode, co.IpcMode)
	}
	if !reflect.DeepEqual(co.Tmpfs, map[string]string{"/run": "size=1m,exec", "/scratch": ""}) {
		t.Errorf("tmpfs %v", co.Tmpfs)
	}
	if co.StopSignal != "SIGUSR1" || co.StopTimeout == nil || *co.StopTimeout != 3 {
		t.Errorf("stop %q %v", co.StopSignal, co.StopTimeout)
	}
	if co.CPUShares != 512 || co.CpusetCpus != "0" || co.CpusetMems != "0" {
		t.Errorf("cpu %d %q %q", co.CPUShares, co.CpusetCpus, co.CpusetMems)
	}
	if co.LogDriver != "json-file" || !reflect.DeepEqual(co.LogOpts, map[string]string{"max-size": "1k", "max-file": "2"}) {
		t.Errorf("log %q %v", co.LogDriver, co.LogOpts)
	}
	if co := parseRun(t, "busybox").createOpt; co.StopTimeout != nil || co.Tmpfs != nil || co.LogOpts != nil {
		t.Errorf("defaults must ask for nothing: %+v", co)
	}
}

// Every docker run flag berth refuses exits 125 with a message naming it;
// the flag's value does not swallow the image.
func TestRunRefusesUnsupportedFlagsByName(t *testing.T) {
	run := func(args ...string) error {
		cmd := newRunCmd(&globalOptions{})
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		return cmd.Execute()
	}
	check := func(flag string, args ...string) {
		err := run(args...)
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 125 {
			t.Fatalf("%s: want exit 125, got %v", flag, err)
		}
		if !strings.Contains(err.Error(), "--"+flag+" is not supported by berth") {
			t.Errorf("%s: %v", flag, err)
		}
	}
	for _, flag := range refusedContainerFlags {
		check(flag, "--"+flag, "x", "busybox", "true")
	}
	for _, flag := range refusedBoolFlags {
		check(flag, "--"+flag, "busybox", "true")
	}
	check("disable-content-trust=false", "--disable-content-trust=false", "busybox", "true")
	if err := run("--log-opt", "max-size", "busybox"); err == nil || !strings.Contains(err.Error(), "invalid key/value pair format in logging opts: max-size") {
		t.Errorf("--log-opt without =: %v", err)
	}
}

// docker build flags berth does not implement exit 125 naming the flag,
// before the context is read.
func TestBuildRefusesUnsupportedFlagsByName(t *testing.T) {
	check := func(flag string, args ...string) {
		cmd := newBuildCmd(&globalOptions{})
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 125 || !strings.Contains(err.Error(), "--"+flag+" is not supported by berth") {
			t.Errorf("%s: %v", flag, err)
		}
	}
	for _, flag := range refusedBuildFlags {
		check(flag, "--"+flag, "x", "/nonexistent-context")
	}
	for flag, short := range refusedBuildShortFlags {
		check(flag, "--"+flag, "1", "/nonexistent-context")
		check(flag, "-"+short, "1", "/nonexistent-context")
	}
	for _, flag := range refusedBuildBoolFlags {
		check(flag, "--"+flag, "/nonexistent-context")
	}
	check("disable-content-trust=false", "--disable-content-trust=false", "/nonexistent-context")
}
