//go:build linux

package testscripts

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/berthkit/berth/cmd/berth/cli"
	berthruntime "github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"berth": func() { os.Exit(cli.Main(os.Args[1:])) },
		// The containers' init, beside berth on the scripts' PATH as make
		// build lays it out. This test binary can be it: engine/runtime's
		// init function runs the init before any main.
		berthruntime.InitName: func() { os.Exit(berthruntime.Init(os.Args[min(2, len(os.Args)):])) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, Params(t, "."))
}

// Params returns the scenario settings shared by every script directory.
func Params(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
		Setup:               setup,
		Condition:           condition,
		// Custom commands; each lives in its own *_cmd_test.go file.
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"registry":     registryCmd,
			"killload":     killLoadCmd,
			"tmpempty":     tmpEmptyCmd,
			"imageid":      imageIDCmd,
			"tmpstore":     tmpStoreCmd,
			"crashat":      crashAtCmd,
			"hostile":      hostileCmd,
			"sharedprefix": sharedPrefixCmd,
			"prefix":       prefixCmd,
			"fileenv":      fileEnvCmd,
			"tmuxstart":    tmuxStartCmd,
			"tmuxwait":     tmuxWaitCmd,
			"pushindex":    pushIndexCmd,
			"cgroupsclean": cgroupsCleanCmd,
		},
	}
}

func setup(env *testscript.Env) error {
	// The store sits beside $WORK, not in it: $WORK is often a build
	// context, and a store inside it would be sent along with every build.
	root := env.WorkDir + ".berth"
	env.Setenv("BERTH_ROOT", root)
	env.Defer(func() { _ = os.RemoveAll(root) })
	env.Setenv("NO_COLOR", "1")
	if p, err := exec.LookPath("busybox"); err == nil {
		env.Setenv("BUSYBOX", p)
	}
	// mmdebstrap's tarballs are shared by every scenario and every run, so
	// the Debian base is downloaded once, not once per scenario.
	cache := os.Getenv("BERTH_BOOTSTRAP_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "berth-test-mmdebstrap")
	}
	env.Setenv("BERTH_BOOTSTRAP_CACHE", cache)
	before := append(mountsUnder(env.WorkDir), mountsUnder(root)...)
	env.Defer(func() {
		// A scenario that failed half way may leave detached containers
		// running: remove them so nothing outlives the scenario.
		removeContainers(env, root)
		leaked := append(mountsUnder(env.WorkDir), mountsUnder(root)...)
		// Unmount what the scenario left, deepest first, so one leak does
		// not spill into the next scenario, then report it.
		for i := len(leaked) - 1; i >= 0; i-- {
			_ = unix.Unmount(leaked[i], unix.MNT_DETACH)
		}
		if len(leaked) > len(before) {
			env.T().Fatal(fmt.Sprintf("scenario left mounts behind: %s", strings.Join(leaked, ", ")))
		}
	})
	return nil
}

// removeContainers force-removes every container of the scenario's store,
// through berth itself (the test binary is "berth" on the scenario's PATH).
func removeContainers(env *testscript.Env, root string) {
	if _, err := os.Stat(filepath.Join(root, "containers")); err != nil {
		return
	}
	berth, err := lookPathIn("berth", env.Getenv("PATH"))
	if err != nil {
		return
	}
	out, err := exec.Command(berth, "--root", root, "ps", "-a", "-q", "--no-trunc").Output()
	if err != nil {
		return
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return
	}
	_ = exec.Command(berth, append([]string{"--root", root, "rm", "-f"}, ids...)...).Run()
}

func lookPathIn(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// mountsUnder lists mount points below dir from /proc/self/mountinfo.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

// condition answers [root], [overlay], [linux], [busybox], [registry] and
// [mirror] (the Debian mirror may be used: BERTH_TEST_MIRROR=1 or CI).
// With CI=true an unmet condition is an error, not a skip: CI runs on a
// machine that meets them all.
func condition(cond string) (bool, error) {
	var ok bool
	switch cond {
	case "root":
		ok = runtime.GOOS == "linux" && testenv.IsRoot()
	case "overlay":
		ok = runtime.GOOS == "linux" && testenv.IsRoot() && testenv.HasOverlay()
	case "linux":
		ok = runtime.GOOS == "linux"
	case "busybox":
		_, err := exec.LookPath("busybox")
		ok = err == nil
	case "registry":
		_, err := exec.LookPath("docker-registry")
		ok = err == nil
	case "tmux":
		_, err := exec.LookPath("tmux")
		ok = err == nil
	case "mirror":
		// Scenarios that download from the Debian mirror (mmdebstrap,
		// apt-get in a build) run only when asked (BERTH_TEST_MIRROR=1) or in
		// CI, which has the mirror: tests send no traffic off the machine
		// unless told they may.
		if os.Getenv("BERTH_TEST_MIRROR") != "1" && !testenv.InCI() {
			return false, nil
		}
		_, err := exec.LookPath("mmdebstrap")
		ok = err == nil
	case "ci":
		return testenv.InCI(), nil
	default:
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if !ok && testenv.InCI() {
		return false, fmt.Errorf("CI=true and condition [%s] does not hold: CI must meet every condition", cond)
	}
	return ok, nil
}
