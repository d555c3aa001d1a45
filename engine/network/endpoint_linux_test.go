package network

import (
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/berthkit/berth/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A process in a network namespace of its own stands for a container.
func nsProcess(t *testing.T) *exec.Cmd {
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestAttachDetachRemove(t *testing.T) {
	testenv.RequireRoot(t)
	m := New(t.TempDir())
	m.StateDir = t.TempDir()
	n, err := m.Create("unit", CreateOptions{Subnet: "172.31.231.0/24"})
	require.NoError(t, err)
	cmd := nsProcess(t)

	ep, err := m.Attach(n, "c0ffee", cmd.Process.Pid, "eth0", true)
	require.NoError(t, err)
	assert.Equal(t, "172.31.231.2", ep.IP)
	assert.Equal(t, "02:42:ac:1f:e7:02", ep.MAC)
	_, err = netlink.LinkByName(ep.HostVeth)
	require.NoError(t, err, "host end of the veth")
	ns, err := netns.GetFromPid(cmd.Process.Pid)
	require.NoError(t, err)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	require.NoError(t, err)
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	require.NoError(t, err)
	addrs, err := h.AddrList(eth0, netlink.FAMILY_V4)
	require.NoError(t, err)
	require.Len(t, addrs, 1)
	assert.Equal(t, "172.31.231.2/24", addrs[0].IPNet.String())
	rules, err := BridgeRules(n.Bridge)
	require.NoError(t, err)
	assert.NotZero(t, rules, "masquerade rule for the bridge")
	ids, err := m.Endpoints(n)
	require.NoError(t, err)
	assert.Equal(t, []string{"c0ffee"}, ids)

	// A second endpoint takes the next address.
	cmd2 := nsProcess(t)
	ep2, err := m.Attach(n, "beef", cmd2.Process.Pid, "eth0", true)
	require.NoError(t, err)
	assert.Equal(t, "172.31.231.3", ep2.IP)

	require.NoError(t, m.Detach(n, ep))
	_, err = netlink.LinkByName(ep.HostVeth)
	assert.Error(t, err, "veth deleted")
	_, err = os.Stat(m.StateDir + "/" + n.Bridge + "/" + ep.IP)
	assert.True(t, os.IsNotExist(err), "lease released")

	// The second "container" dies without detaching: a sweep takes its
	// lease and veth back.
	_ = cmd2.Process.Kill()
	_ = cmd2.Wait()
	require.NoError(t, m.Sweep())
	ids, err = m.Endpoints(n)
	require.NoError(t, err)
	assert.Empty(t, ids)
	_, err = netlink.LinkByName(ep2.HostVeth)
	assert.Error(t, err, "veth of the dead container deleted")

	require.NoError(t, m.Remove(n))
	_, err = netlink.LinkByName(n.Bridge)
	assert.Error(t, err, "bridge deleted")
	rules, err = BridgeRules(n.Bridge)
	require.NoError(t, err)
	assert.Zero(t, rules, "no rule names the removed bridge")
}

// exitedEndpoint attaches a process to a new network, keeps its network
// namespace open (so the veth pair stays until ns is closed), kills the
// process and detaches the endpoint, as a supervisor does after its
// container exited. It returns the endpoint and the lease's path.
func exitedEndpoint(t *testing.T, name, subnet string) (m *Manager, ep *Endpoint, lease string, ns netns.NsHandle) {
	t.Helper()
	testenv.RequireRoot(t)
	m = New(t.TempDir())
	m.StateDir = t.TempDir()
	n, err := m.Create(name, CreateOptions{Subnet: subnet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Remove(n) })
	cmd := nsProcess(t)
	ep, err = m.Attach(n, "c0ffee", cmd.Process.Pid, "eth0", true)
	require.NoError(t, err)
	ns, err = netns.GetFromPid(cmd.Process.Pid)
	require.NoError(t, err)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	require.NoError(t, m.Detach(n, ep))
	return m, ep, m.StateDir + "/" + n.Bridge + "/" + ep.IP, ns
}

// A container that exited leaves its veth pair to the kernel, which removes
// it with the namespace: Detach does not wait for that, and the address
// stays taken until the pair is gone.
func TestDetachAfterExitLeavesThePairToTheKernel(t *testing.T) {
	m, ep, lease, ns := exitedEndpoint(t, "unit2", "172.31.232.0/24")
	_, err := netlink.LinkByName(ep.HostVeth)
	require.NoError(t, err, "the pair is the kernel's to remove")
	_, err = os.Stat(lease)
	require.NoError(t, err, "the address stays taken while the pair exists")
	require.NoError(t, m.Sweep())
	_, err = os.Stat(lease)
	require.NoError(t, err, "a sweep leaves a lately released pair alone")

	// The namespace dies: the kernel removes the pair, and the next sweep
	// the lease.
	ns.Close()
	for i := 0; i < 1000 && linkExists(ep.HostVeth); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	require.False(t, linkExists(ep.HostVeth), "the kernel removed the pair")
	require.NoError(t, m.Sweep())
	_, err = os.Stat(lease)
	assert.True(t, os.IsNotExist(err), "lease taken back")
}

// A released lease whose pair outlives the grace (a namespace someone
// else holds) is swept the old way: the pair deleted, the address freed.
func TestSweepDeletesAPairPastTheGrace(t *testing.T) {
	m, ep, path, ns := exitedEndpoint(t, "unit3", "172.31.233.0/24")
	defer ns.Close()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var l lease
	require.NoError(t, json.Unmarshal(data, &l))
	require.False(t, l.Released.IsZero(), "released")
	l.Released = l.Released.Add(-releaseGrace)
	data, err = json.Marshal(l)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))

	require.NoError(t, m.Sweep())
	assert.False(t, linkExists(ep.HostVeth), "pair deleted")
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err), "lease taken back")
}
