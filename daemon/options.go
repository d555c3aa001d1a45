package daemon

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
)

// Every field of Docker's container create body is in createFields: berth
// applies it (and shows it back in inspect), refuses it with a 400 that
// names it, or leaves it to another part of the daemon (networking,
// volumes). A field missing from the table is refused when set, and
// TestCreateFieldsTable fails, so a new field of the API cannot slip
// through unnoticed.

// policy is what the daemon does with a create field.
type policy int

const (
	// applied: berth implements it (the engine may still refuse values).
	applied policy = iota
	// refused: any value but the unset one is a 400 naming the field.
	refused
	// ownedByNetwork and ownedByVolumes: networking and mounts decide.
	ownedByNetwork
	ownedByVolumes
	// clientSide: only the client acts on it (docker writes
	// --cidfile itself); Docker's daemon ignores it too.
	clientSide
)

func (p policy) String() string {
	return [...]string{"applied", "refused", "owned by networking", "owned by volumes", "client side"}[p]
}

// fieldRule is one row of the table.
type fieldRule struct {
	policy policy
	// flag is the docker run flag that sets the field, for the message,
	// or how it is set when no flag does ("API only").
	flag string
	// unset reports values that ask for nothing, besides the zero value
	// and empty lists: the docker CLI sends RestartPolicy "no",
	// MemorySwappiness -1 and OomKillDisable false on every create.
	unset func(reflect.Value) bool
}

// how says how a client sets the field: "docker run --device".
func (r fieldRule) how() string {
	if strings.HasPrefix(r.flag, "-") {
		return "docker run " + r.flag
	}
	return r.flag
}

// oneOf says a string field is unset when it holds one of values.
func oneOf(values ...string) func(reflect.Value) bool {
	return func(v reflect.Value) bool {
		for _, s := range values {
			if v.String() == s {
				return true
			}
		}
		return false
	}
}

var (
	rule       = func(p policy, flag string) fieldRule { return fieldRule{policy: p, flag: flag} }
	refuse     = func(flag string) fieldRule { return fieldRule{policy: refused, flag: flag} }
	refuseBut  = func(flag string, unset func(reflect.Value) bool) fieldRule { return fieldRule{refused, flag, unset} }
	isFalsePtr = func(v reflect.Value) bool { return v.Elem().Kind() == reflect.Bool && !v.Elem().Bool() }
)

// createFields is the table, by the field's JSON name, built on first use:
// only the create handler reads it, and every berth process links this package.
var createFields = sync.OnceValue(func() map[string]fieldRule {
	return map[string]fieldRule{
		"Config.Hostname":        rule(applied, "--hostname"),
		"Config.Domainname":      refuse("--domainname"),
		"Config.User":            rule(applied, "--user"),
		"Config.AttachStdin":     rule(applied, "--attach stdin"),
		"Config.AttachStdout":    rule(applied, "--attach stdout"),
		"Config.AttachStderr":    rule(applied, "--attach stderr"),
		"Config.ExposedPorts":    rule(ownedByNetwork, "--expose"),
		"Config.Tty":             rule(applied, "--tty"),
		"Config.OpenStdin":       rule(applied, "--interactive"),
		"Config.StdinOnce":       rule(applied, "--attach stdin"),
		"Config.Env":             rule(applied, "--env"),
		"Config.Cmd":             rule(applied, "COMMAND"),
		"Config.Healthcheck":     rule(applied, "--health-cmd"),
		"Config.ArgsEscaped":     refuse("API only, Windows"),
		"Config.Image":           rule(applied, "IMAGE"),
		"Config.Volumes":         rule(ownedByVolumes, "--volume"),
		"Config.WorkingDir":      rule(applied, "--workdir"),
		"Config.Entrypoint":      rule(applied, "--entrypoint"),
		"Config.NetworkDisabled": rule(ownedByNetwork, "--network none"),
		"Config.OnBuild":         refuse("API only"),
		"Config.Labels":          rule(applied, "--label"),
		"Config.StopSignal":      rule(applied, "--stop-signal"),
		"Config.StopTimeout":     rule(applied, "--stop-timeout"),
		"Config.Shell":           refuse("API only"),

		"HostConfig.Binds":           rule(ownedByVolumes, "--volume"),
		"HostConfig.ContainerIDFile": rule(clientSide, "--cidfile"),
		"HostConfig.LogConfig":       rule(applied, "--log-driver/--log-opt"),
		"HostConfig.NetworkMode":     rule(ownedByNetwork, "--network"),
		"HostConfig.PortBindings":    rule(ownedByNetwork, "--publish"),
		"HostConfig.RestartPolicy":   refuseBut("--restart", func(v reflect.Value) bool { return oneOf("", "no")(v.FieldByName("Name")) }),
		"HostConfig.AutoRemove":      rule(applied, "--rm"),
		"HostConfig.VolumeDriver":    rule(ownedByVolumes, "--volume-driver"),
		"HostConfig.VolumesFrom":     rule(ownedByVolumes, "--volumes-from"),
		"HostConfig.ConsoleSize":     rule(applied, "--tty"),
		"HostConfig.Annotations":     refuse("--annotation"),
		"HostConfig.CapAdd":          rule(applied, "--cap-add"),
		"HostConfig.CapDrop":         rule(applied, "--cap-drop"),
		// berth never unshares the cgroup namespace: "host" is what it does.
		"HostConfig.CgroupnsMode":    refuseBut("--cgroupns", oneOf("", "host")),
		"HostConfig.Dns":             rule(ownedByNetwork, "--dns"),
		"HostConfig.DnsOptions":      rule(ownedByNetwork, "--dns-option"),
		"HostConfig.DnsSearch":       rule(ownedByNetwork, "--dns-search"),
		"HostConfig.ExtraHosts":      rule(ownedByNetwork, "--add-host"),
		"HostConfig.GroupAdd":        rule(applied, "--group-add"),
		"HostConfig.IpcMode":         rule(applied, "--ipc"),
		"HostConfig.Cgroup":          refuse("--cgroup"),
		"HostConfig.Links":           rule(ownedByNetwork, "--link"),
		"HostConfig.OomScoreAdj":     refuse("--oom-score-adj"),
		"HostConfig.PidMode":         rule(applied, "--pid"),
		"HostConfig.Privileged":      rule(applied, "--privileged"),
		"HostConfig.PublishAllPorts": rule(ownedByNetwork, "--publish-all"),
		"HostConfig.ReadonlyRootfs":  rule(applied, "--read-only"),
		"HostConfig.SecurityOpt":     rule(applied, "--security-opt"),
		"HostConfig.StorageOpt":      refuse("--storage-opt"),
		"HostConfig.Tmpfs":           rule(applied, "--tmpfs"),
		"HostConfig.UTSMode":         rule(applied, "--uts"),
		// berth never makes a user namespace: "host" is what it does.
		"HostConfig.UsernsMode": refuseBut("--userns", oneOf("", "host")),
		"HostConfig.ShmSize":    refuse("--shm-size"),
		"HostConfig.Sysctls":    refuse("--sysctl"),
		"HostConfig.Runtime":    refuse("--runtime"),
		"HostConfig.Umask":      refuse("API only"),
		"HostConfig.Isolation":  refuseBut("--isolation", oneOf("", "default")),
		"HostConfig.Mounts":     rule(ownedByVolumes, "--mount"),
		// The API takes null (Docker's defaults, which berth applies) or a list.
		"HostConfig.MaskedPaths":   refuse("API only"),
		"HostConfig.ReadonlyPaths": refuse("API only"),
		"HostConfig.Init":          rule(applied, "--init"),

		// HostConfig.Resources, inlined in the JSON.
		"HostConfig.CpuShares":            rule(applied, "--cpu-shares"),
		"HostConfig.Memory":               rule(applied, "--memory"),
		"HostConfig.NanoCpus":             rule(applied, "--cpus"),
		"HostConfig.CgroupParent":         refuse("--cgroup-parent"),
		"HostConfig.BlkioWeight":          refuse("--blkio-weight"),
		"HostConfig.BlkioWeightDevice":    refuse("--blkio-weight-device"),
		"HostConfig.BlkioDeviceReadBps":   refuse("--device-read-bps"),
		"HostConfig.BlkioDeviceWriteBps":  refuse("--device-write-bps"),
		"HostConfig.BlkioDeviceReadIOps":  refuse("--device-read-iops"),
		"HostConfig.BlkioDeviceWriteIOps": refuse("--device-write-iops"),
		"HostConfig.CpuPeriod":            refuse("--cpu-period"),
		"HostConfig.CpuQuota":             refuse("--cpu-quota"),
		"HostConfig.CpuRealtimePeriod":    refuse("--cpu-rt-period"),
		"HostConfig.CpuRealtimeRuntime":   refuse("--cpu-rt-runtime"),
		"HostConfig.CpusetCpus":           rule(applied, "--cpuset-cpus"),
		"HostConfig.CpusetMems":           rule(applied, "--cpuset-mems"),
		"HostConfig.Devices":              refuse("--device"),
		"HostConfig.DeviceCgroupRules":    refuse("--device-cgroup-rule"),
		"HostConfig.DeviceRequests":       refuse("--gpus"),
		"HostConfig.MemoryReservation":    refuse("--memory-reservation"),
		"HostConfig.MemorySwap":           refuse("--memory-swap"),
		"HostConfig.MemorySwappiness":     refuseBut("--memory-swappiness", func(v reflect.Value) bool { return v.Elem().Int() == -1 }),
		"HostConfig.OomKillDisable":       refuseBut("--oom-kill-disable", isFalsePtr),
		"HostConfig.PidsLimit":            rule(applied, "--pids-limit"),
		"HostConfig.Ulimits":              refuse("--ulimit"),
		"HostConfig.CpuCount":             refuse("--cpu-count"),
		"HostConfig.CpuPercent":           refuse("--cpu-percent"),
		"HostConfig.IOMaximumIOps":        refuse("--io-maxiops"),
		"HostConfig.IOMaximumBandwidth":   refuse("--io-maxbandwidth"),

		"NetworkingConfig": rule(ownedByNetwork, "--network"),
	}
})

// createField is one field of a create request, by its JSON name.
type createField struct {
	name  string
	value reflect.Value
}

// fieldsOf lists the fields of a create request's Config and HostConfig
// (with Resources inlined, as in the JSON), and NetworkingConfig.
func fieldsOf(req *container.CreateRequest) []createField {
	var out []createField
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(prefix, v.Field(i))
				continue
			}
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			out = append(out, createField{prefix + name, v.Field(i)})
		}
	}
	if req.Config != nil {
		walk("Config.", reflect.ValueOf(req.Config).Elem())
	}
	if req.HostConfig != nil {
		walk("HostConfig.", reflect.ValueOf(req.HostConfig).Elem())
	}
	if req.NetworkingConfig != nil {
		out = append(out, createField{"NetworkingConfig", reflect.ValueOf(req.NetworkingConfig).Elem()})
	}
	return out
}

// isUnset says whether a field asks for nothing: its zero value, an empty
// list or map, or a value the rule says means "unset".
func isUnset(v reflect.Value, r fieldRule) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return true
		}
	case reflect.Pointer:
		if v.IsNil() {
			return true
		}
	}
	if v.IsZero() {
		return true
	}
	return r.unset != nil && r.unset(v)
}

// refuseUnsupported refuses, by name, every field berth does not implement
// that the request sets. Fields missing from the table are refused too.
func refuseUnsupported(req *container.CreateRequest) error {
	var names []string
	for _, f := range fieldsOf(req) {
		r, known := createFields()[f.name]
		if known && r.policy != refused {
			continue
		}
		if isUnset(f.value, r) {
			continue
		}
		if !known {
			names = append(names, f.name)
			continue
		}
		names = append(names, fmt.Sprintf("%s (%s)", f.name, r.how()))
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return badRequestf("berth does not support %s: remove the option; docs/containers.md lists what berth applies", strings.Join(names, ", "))
}

// buildParams is the table of POST /build's query parameters that berth
// does not implement, each with the values that ask for nothing (what the
// docker CLI sends when the flag is not given). The ones berth implements
// are read by build: dockerfile, t, target, nocache, rm, forcerm, pull,
// platform, networkmode, buildargs, labels, q, version (and remote, which
// it refuses itself). Unknown parameters are ignored, as Docker does.
var buildParams = sync.OnceValue(func() map[string]buildParam {
	return map[string]buildParam{
		"extrahosts":   {"--add-host", []string{""}},
		"cachefrom":    {"--cache-from", []string{"", "[]", "null"}},
		"squash":       {"--squash", []string{"", "0", "false"}},
		"memory":       {"--memory", []string{"", "0"}},
		"memswap":      {"--memory-swap", []string{"", "0"}},
		"cpushares":    {"--cpu-shares", []string{"", "0"}},
		"cpusetcpus":   {"--cpuset-cpus", []string{""}},
		"cpusetmems":   {"--cpuset-mems", []string{""}},
		"cpuperiod":    {"--cpu-period", []string{"", "0"}},
		"cpuquota":     {"--cpu-quota", []string{"", "0"}},
		"cgroupparent": {"--cgroup-parent", []string{""}},
		"shmsize":      {"--shm-size", []string{"", "0"}},
		"ulimits":      {"--ulimit", []string{"", "[]", "null"}},
		"isolation":    {"--isolation", []string{"", "default"}},
		"outputs":      {"--output", []string{"", "[]", "null"}},
		"session":      {"BuildKit sessions", []string{""}},
		"buildid":      {"build IDs (POST /build/cancel)", []string{""}},
	}
})

// buildParam is a POST /build parameter berth refuses: the flag that sets
// it and the values that mean it is not set.
type buildParam struct {
	flag  string
	unset []string
}

// refuseBuildParams refuses, by name, the build parameters berth does not
// implement when the request sets them.
func refuseBuildParams(q map[string][]string) error {
	var names []string
	for name, p := range buildParams() {
		for _, v := range q[name] {
			// docker-py sends booleans as "False".
			if !oneOf(p.unset...)(reflect.ValueOf(strings.ToLower(v))) {
				names = append(names, fmt.Sprintf("%s (docker build %s)", name, p.flag))
				break
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	return badRequestf("berth does not support the build option %s: remove it; docs/daemon.md lists what berth applies", strings.Join(names, ", "))
}
