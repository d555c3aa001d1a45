package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// parseRun runs `berth run ARGS` up to the point where the engine would
// start, and returns the options run would use.
func parseRun(t *testing.T, args ...string) *runOptions {
	t.Helper()
	var got *runOptions
	saved := runRunFunc
	runRunFunc = func(ctx context.Context, g *globalOptions, opts *runOptions) error {
		got = opts
		return nil
	}
	defer func() { runRunFunc = saved }()
	cmd := newRunCmd(&globalOptions{})
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRunFlagsStopAtTheImage(t *testing.T) {
	opts := parseRun(t, "--rm", "-e", "A=1", "-h", "box", "-m", "64m", "--cpus", "1.5", "-d",
		"--entrypoint", "", "busybox", "ls", "-l", "--rm")
	co := opts.createOpt
	if co.Image != "busybox" || !reflect.DeepEqual(co.Cmd, []string{"ls", "-l", "--rm"}) {
		t.Errorf("image %q cmd %q", co.Image, co.Cmd)
	}
	if !co.AutoRemove || !opts.detach || co.Hostname != "box" || co.Memory != 64<<20 || co.NanoCPUs != 1_500_000_000 {
		t.Errorf("options %+v", co)
	}
	if co.Entrypoint == nil || len(co.Entrypoint) != 0 {
		t.Errorf("--entrypoint '' must clear the entrypoint: %#v", co.Entrypoint)
	}
	if !reflect.DeepEqual(co.Env, []string{"A=1"}) {
		t.Errorf("env %q", co.Env)
	}
	if opts := parseRun(t, "busybox"); opts.createOpt.Entrypoint != nil {
		t.Errorf("no --entrypoint must keep the image's: %#v", opts.createOpt.Entrypoint)
	}
}

func TestReadEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "env")
	os.WriteFile(file, []byte("# comment\n\nFROM_FILE=1\nHOST_VAR\nA=file\n"), 0o644)
	t.Setenv("HOST_VAR", "from-host")
	got, err := readEnv([]string{file}, []string{"A=flag", "UNSET_VAR_XYZ", "B="})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"FROM_FILE=1", "HOST_VAR=from-host", "A=file", "A=flag", "B="}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	os.WriteFile(file, []byte("BAD KEY=1\n"), 0o644)
	if _, err := readEnv([]string{file}, nil); err == nil {
		t.Errorf("a key with a space was accepted")
	}
}

func TestRAMInBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"100": 100, "1k": 1024, "64m": 64 << 20, "64MB": 64 << 20, "1.5g": 3 << 29, "2G": 2 << 30,
	} {
		if got, err := ramInBytes(in); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "-1m", "1x"} {
		if _, err := ramInBytes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
