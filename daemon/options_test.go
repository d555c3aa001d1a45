package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/berthkit/berth/internal/testenv"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/stretchr/testify/require"
)

// postCreate sends req to POST /containers/create, named name unless it
// is empty.
func postCreate(t *testing.T, url, name string, req *container.CreateRequest) (*http.Response, []byte) {
	t.Helper()
	body, err := json.Marshal(req)
	require.NoError(t, err)
	target := url + "/containers/create"
	if name != "" {
		target += "?name=" + name
	}
	return do(t, "POST", target, bytes.NewReader(body))
}

// fullRequest is a create request with every part present.
func fullRequest() *container.CreateRequest {
	return &container.CreateRequest{
		Config:           &container.Config{Image: "busybox", Cmd: []string{"true"}},
		HostConfig:       &container.HostConfig{},
		NetworkingConfig: &network.NetworkingConfig{},
	}
}

// Every field of the create body is in the table, and every row of the
// table is a field: a field added to Docker's API fails here until someone
// decides whether berth applies it or refuses it.
func TestCreateFieldsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range fieldsOf(fullRequest()) {
		seen[f.name] = true
		_, ok := createFields()[f.name]
		require.True(t, ok, "create field %s is neither applied nor refused: add it to createFields", f.name)
	}
	for name := range createFields() {
		require.True(t, seen[name], "createFields has %s, which Docker's create body does not", name)
	}
}

// setNonZero gives v a value that asks for something: "x", 7, true, a list
// or map of one such element, a pointer to one.
func setNonZero(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		setNonZero(v.Elem())
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		setNonZero(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		setNonZero(k)
		setNonZero(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				setNonZero(v.Field(i))
				return
			}
		}
	case reflect.Array:
		setNonZero(v.Index(0))
	}
}

// Each field the table refuses, set alone, is a 400 naming it, with the
// docker run flag that sets it; sent as JSON, as a client would.
func TestCreateRefusesEveryUnsupportedField(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	n := 0
	for i, f := range fieldsOf(fullRequest()) {
		r := createFields()[f.name]
		if r.policy != refused {
			continue
		}
		n++
		req := fullRequest()
		setNonZero(fieldsOf(req)[i].value)
		resp, data := postCreate(t, hs.URL, "", req)
		require.Equal(t, 400, resp.StatusCode, "%s: %s", f.name, data)
		msg := errorMessage(t, data)
		require.Contains(t, msg, f.name+" ("+r.how()+")")
		require.Contains(t, msg, "berth does not support")
	}
	require.Greater(t, n, 30, "refused fields")
}

// What the docker CLI sends for a plain `docker create busybox true` asks
// for nothing berth refuses.
func TestCreateAcceptsTheDockerCLIDefaults(t *testing.T) {
	body := `{"Image":"busybox","Cmd":["true"],"Volumes":{},"Labels":{},"AttachStdout":true,"AttachStderr":true,
	"HostConfig":{"LogConfig":{"Type":"","Config":{}},"NetworkMode":"default","PortBindings":{},
	"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"ConsoleSize":[0,0],"CgroupnsMode":"","Dns":[],
	"DnsOptions":[],"DnsSearch":[],"IpcMode":"","Cgroup":"","PidMode":"","UTSMode":"","UsernsMode":"",
	"Isolation":"","BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],
	"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"Devices":[],"MemorySwappiness":-1,
	"OomKillDisable":false,"PidsLimit":0,"Ulimits":[]},
	"NetworkingConfig":{"EndpointsConfig":{"default":{}}}}`
	var req container.CreateRequest
	require.NoError(t, json.Unmarshal([]byte(body), &req))
	require.NoError(t, refuseUnsupported(&req))
	_, _, err := createOptions("", &req)
	require.NoError(t, err)
}

// Several refused fields are named together, sorted.
func TestCreateNamesEveryRefusedField(t *testing.T) {
	req := fullRequest()
	req.HostConfig.Devices = []container.DeviceMapping{{PathOnHost: "/dev/fuse"}}
	req.HostConfig.Runtime = "runsc"
	req.HostConfig.RestartPolicy.Name = "always"
	err := refuseUnsupported(req)
	require.Error(t, err)
	require.Equal(t, 400, statusOf(err))
	require.Contains(t, err.Error(), "HostConfig.Devices (docker run --device), HostConfig.RestartPolicy (docker run --restart), HostConfig.Runtime (docker run --runtime)")
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if testenv.InCI() {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
}

// Values of applied fields that berth cannot honour are refused by the
// engine, named, as a 400.
func TestCreateRefusesBadValuesOfAppliedFields(t *testing.T) {
	requireRoot(t)
	_, hs := newTestServer(t, Options{})
	cases := []struct {
		set  func(*container.CreateRequest)
		want string
	}{
		{func(r *container.CreateRequest) { r.HostConfig.LogConfig.Type = "syslog" }, "no log driver named 'syslog' is registered"},
		{func(r *container.CreateRequest) {
			r.HostConfig.LogConfig.Config = map[string]string{"compress": "true"}
		}, "unknown log opt 'compress' for json-file log driver"},
		{func(r *container.CreateRequest) {
			r.HostConfig.LogConfig = container.LogConfig{Type: "none", Config: map[string]string{"max-size": "1m"}}
		}, "unknown log opt 'max-size' for none log driver"},
		{func(r *container.CreateRequest) {
			r.HostConfig.LogConfig.Config = map[string]string{"max-file": "3"}
		}, "max-file can only be set when max-size is set"},
		{func(r *container.CreateRequest) { r.HostConfig.PidMode = "container:web" }, "--pid container:web is not supported by berth"},
		{func(r *container.CreateRequest) { r.HostConfig.UTSMode = "bogus" }, "invalid UTS mode: bogus"},
		{func(r *container.CreateRequest) {
			r.HostConfig.UTSMode = "host"
			r.Config.Hostname = "box"
		}, "Conflicting options: hostname and the UTS mode"},
		{func(r *container.CreateRequest) { r.HostConfig.Tmpfs = map[string]string{"run": ""} }, "invalid --tmpfs run: the mount point must be an absolute path"},
		{func(r *container.CreateRequest) { r.HostConfig.Tmpfs = map[string]string{"/run": "size=1m,bogus"} }, `invalid --tmpfs option "bogus" for /run`},
		{func(r *container.CreateRequest) { r.HostConfig.CpusetCpus = "0-999" }, "Requested CPUs are not available - requested 0-999"},
		{func(r *container.CreateRequest) { r.HostConfig.CpusetCpus = "a-b" }, "Invalid value a-b for cpuset cpus"},
		{func(r *container.CreateRequest) { r.Config.StopSignal = "FOO" }, "Invalid signal: FOO"},
	}
	for _, c := range cases {
		req := fullRequest()
		c.set(req)
		resp, data := postCreate(t, hs.URL, "", req)
		require.Equal(t, 400, resp.StatusCode, "%s: %s", c.want, data)
		require.Contains(t, errorMessage(t, data), c.want)
	}
}

// The options berth applies come back in inspect, as Docker shows them.
func TestCreateAppliedOptionsShowInInspect(t *testing.T) {
	requireRoot(t)
	srv, hs := newTestServer(t, Options{})
	withBusybox(t, srv)
	stop := 3
	req := fullRequest()
	req.Config.StopTimeout, req.Config.StopSignal = &stop, "SIGUSR1"
	hc := req.HostConfig
	hc.PidMode, hc.UTSMode, hc.IpcMode = "host", "host", "host"
	hc.Tmpfs = map[string]string{"/scratch": "size=1m"}
	hc.CPUShares, hc.CpusetCpus, hc.CpusetMems = 512, "0", "0"
	hc.LogConfig = container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1k", "max-file": "2"}}
	resp, data := postCreate(t, hs.URL, "applied", req)
	require.Equal(t, 201, resp.StatusCode, string(data))
	resp, data = do(t, "GET", hs.URL+"/containers/applied/json", nil)
	require.Equal(t, 200, resp.StatusCode, string(data))
	var got container.InspectResponse
	require.NoError(t, json.Unmarshal(data, &got))
	require.Equal(t, container.PidMode("host"), got.HostConfig.PidMode)
	require.Equal(t, container.UTSMode("host"), got.HostConfig.UTSMode)
	require.Equal(t, container.IpcMode("host"), got.HostConfig.IpcMode)
	require.Equal(t, map[string]string{"/scratch": "size=1m"}, got.HostConfig.Tmpfs)
	require.Equal(t, int64(512), got.HostConfig.CPUShares)
	require.Equal(t, "0", got.HostConfig.CpusetCpus)
	require.Equal(t, "0", got.HostConfig.CpusetMems)
	require.Equal(t, container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1k", "max-file": "2"}}, got.HostConfig.LogConfig)
	require.NotNil(t, got.Config.StopTimeout)
	require.Equal(t, 3, *got.Config.StopTimeout)
	require.Equal(t, "SIGUSR1", got.Config.StopSignal)
	host, _ := os.Hostname()
	require.Equal(t, host, got.Config.Hostname, "--uts host: the host's name")
}

// Build parameters berth does not implement are refused by name; their
// unset values (what the docker CLI sends by default) pass.
func TestBuildRefusesUnsupportedParams(t *testing.T) {
	require.NoError(t, refuseBuildParams(map[string][]string{
		"cachefrom": {"[]"}, "ulimits": {"null"}, "memory": {"0"}, "pull": {""}, "isolation": {"default"}, "shmsize": {"0"},
	}))
	_, hs := newTestServer(t, Options{})
	small := contextTar(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	for name, p := range buildParams() {
		resp, data := do(t, "POST", hs.URL+"/build?"+name+"=9", bytes.NewReader(small))
		require.Equal(t, 400, resp.StatusCode, "%s: %s", name, data)
		require.Contains(t, errorMessage(t, data), name+" (docker build "+p.flag+")")
	}
	err := refuseBuildParams(map[string][]string{"shmsize": {"1"}, "squash": {"1"}})
	require.True(t, strings.Contains(err.Error(), "shmsize (docker build --shm-size), squash (docker build --squash)"), err.Error())
}

// HostConfig.ConsoleSize is the terminal's size when the container starts.
func TestCreateConsoleSizeSizesTheTerminal(t *testing.T) {
	requireRoot(t)
	srv, hs := newTestServer(t, Options{})
	withBusybox(t, srv)
	req := fullRequest()
	req.Config.Tty, req.Config.Cmd = true, []string{"stty", "size"}
	req.HostConfig.ConsoleSize = [2]uint{33, 111}
	resp, data := postCreate(t, hs.URL, "sized", req)
	require.Equal(t, 201, resp.StatusCode, string(data))
	resp, data = do(t, "POST", hs.URL+"/containers/sized/start", nil)
	require.Equal(t, 204, resp.StatusCode, string(data))
	resp, data = do(t, "POST", hs.URL+"/containers/sized/wait", nil)
	require.Equal(t, 200, resp.StatusCode, string(data))
	require.Contains(t, string(data), `"StatusCode":0`)
	resp, data = do(t, "GET", hs.URL+"/containers/sized/logs?stdout=1", nil)
	require.Equal(t, 200, resp.StatusCode, string(data))
	require.Equal(t, "33 111", strings.TrimSpace(string(data)))
}
