package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/berthkit/berth/engine/network"
	"github.com/berthkit/berth/engine/runtime"
	"github.com/berthkit/berth/engine/store"
)

// In rootless mode berth cannot make bridges or NAT rules on the host, so
// a container on the default network gets a network namespace of its own
// that pasta (Debian's passt package) connects to the host's network
// stack from user space, as rootless Podman does; pasta also publishes
// the container's ports (-p) on the host.

// errNoRootlessNet says no user-mode network tool is installed.
var errNoRootlessNet = errors.New("rootless networking needs pasta (install the passt package) or slirp4netns; or use --network none or --network host")

// rootlessNetTool finds pasta, else slirp4netns (BERTH_ROOTLESS_NET names
// one of them to use it).
func rootlessNetTool() (string, error) {
	tools := []string{"pasta", "slirp4netns"}
	if want := os.Getenv("BERTH_ROOTLESS_NET"); want == "pasta" || want == "slirp4netns" {
		tools = []string{want}
	}
	for _, t := range tools {
		if p, err := exec.LookPath(t); err == nil {
			return p, nil
		}
	}
	return "", errNoRootlessNet
}

// startRootlessNetwork is startNetwork in rootless mode for the bridge
// and user networks.
func (e *Engine) startRootlessNetwork(c *store.Container, spec *runtime.Spec) (*netRun, error) {
	for _, att := range c.Net.Networks {
		if att.Name != "" && att.Name != "bridge" {
			return nil, fmt.Errorf("network %s: user-defined networks need root; rootless mode offers the default network (through pasta), host and none", att.Name)
		}
	}
	tool, err := rootlessNetTool()
	if err != nil {
		return nil, err
	}
	r := &netRun{e: e, c: c}
	spec.Network = network.None // a namespace of its own; pasta connects it
	spec.Prestart = func(pid int) error { return r.attachPasta(tool, pid) }
	if filepath.Base(tool) == "slirp4netns" {
		spec.Prestart = func(pid int) error { return r.attachSlirp(tool, pid) }
	}
	return r, nil
}

// attachPasta connects the namespace of pid to the host through pasta,
// publishing the container's ports. pasta detaches once the namespace is
// configured and ends by itself when the namespace goes away; close
// stops it sooner.
func (r *netRun) attachPasta(tool string, pid int) error {
	pidFile := filepath.Join(r.e.Root(), "containers", r.c.ID, "pasta.pid")
	args := []string{"--config-net", "--quiet", "--pid", pidFile, "-U", "none", "-T", "none"}
	var tcp, udp []string
	r.c.Net.Ports = nil
	for _, b := range r.c.Net.Publish {
		if b.HostPort == 0 {
			return fmt.Errorf("publish %d/%s: rootless mode needs an explicit host port (-p HOSTPORT:%d)", b.ContainerPort, b.Proto, b.ContainerPort)
		}
		spec := strconv.Itoa(b.HostPort) + ":" + strconv.Itoa(b.ContainerPort)
		if b.HostIP != "" {
			spec = b.HostIP + "/" + spec
		}
		switch b.Proto {
		case "udp":
			udp = append(udp, spec)
		default:
			tcp = append(tcp, spec)
		}
		r.c.Net.Ports = append(r.c.Net.Ports, b)
	}
	// The container's init is not dumpable, so pasta could not open its
	// /proc entries: berth opens the namespaces and hands them over.
	netns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return fmt.Errorf("pasta: open the container's network namespace: %w", err)
	}
	defer netns.Close()
	args = append(args, "-t", orNone(tcp), "-u", orNone(udp),
		"--netns", "/proc/self/fd/3")
	cmd := exec.Command(tool, args...)
	cmd.ExtraFiles = []*os.File{netns}
	out, err := withSIGPIPE(cmd.CombinedOutput)
	if err != nil {
		return fmt.Errorf("pasta: %v: %s", err, strings.TrimSpace(string(out)))
	}
	r.stop = func() { stopPasta(pidFile) }
	return r.e.writeNetFiles(r.c, nil, nil)
}

// withSIGPIPE runs fn with SIGPIPE handled rather than ignored, so that
// the programs fn starts inherit its default action: pasta refuses to start
// with SIGPIPE ignored, and a detached container's supervisor ignores it.
func withSIGPIPE(fn func() ([]byte, error)) ([]byte, error) {
	if !signal.Ignored(syscall.SIGPIPE) {
		return fn()
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGPIPE)
	defer signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(c)
	return fn()
}

func orNone(specs []string) string {
	if len(specs) == 0 {
		return "none"
	}
	return strings.Join(specs, ",")
}

// stopPasta ends the pasta of a container once it stopped.
func stopPasta(pidFile string) {
	b, err := os.ReadFile(pidFile)
	_ = os.Remove(pidFile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(syscall.SIGTERM)
		}
	}
}

// attachSlirp connects the namespace of pid through slirp4netns (when pasta
// is missing). slirp4netns publishes ports only through its API socket,
// which berth does not drive: -p is refused with it.
func (r *netRun) attachSlirp(tool string, pid int) error {
	if len(r.c.Net.Publish) > 0 {
		return fmt.Errorf("publishing ports in rootless mode needs pasta (install the passt package); slirp4netns is used here")
	}
	netns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		return fmt.Errorf("slirp4netns: open the container's network namespace: %w", err)
	}
	defer netns.Close()
	ready, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer ready.Close()
	cmd := exec.Command(tool, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--ready-fd=4", "--netns-type=path", "/proc/self/fd/3", "tap0")
	cmd.ExtraFiles = []*os.File{netns, readyW}
	var out strings.Builder
	cmd.Stderr = &out
	if _, err := withSIGPIPE(func() ([]byte, error) { return nil, cmd.Start() }); err != nil {
		readyW.Close()
		return fmt.Errorf("slirp4netns: %w", err)
	}
	readyW.Close()
	b := make([]byte, 1)
	if n, _ := ready.Read(b); n != 1 {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("slirp4netns: %s", strings.TrimSpace(out.String()))
	}
	r.stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	return r.e.writeNetFiles(r.c, nil, nil)
}
