package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// containerFlags are the flags run and create share: Docker's container
// config and host config.
type containerFlags struct {
	name        string
	env         []string
	envFiles    []string
	workdir     string
	user        string
	entrypoint  string
	hostname    string
	network     string
	interactive bool
	tty         bool
	rm          bool
	privileged  bool
	capAdd      []string
	capDrop     []string
	securityOpt []string
	groupAdd    []string
	readOnly    bool
	memory      string
	pidsLimit   int64
	cpus        float64
	init        bool
	labels      []string
	pull        string
	platform    string
	quiet       bool
	traceFile   string
	more        moreContainerFlags
	volumes     []string
	mounts      []string
	volumesFrom []string
	net         netFlags
}

func addContainerFlags(f *pflag.FlagSet, o *containerFlags) {
	// Everything after the image is the container's command.
	f.SetInterspersed(false)
	// -h is --hostname, as in docker; help stays --help.
	f.Bool("help", false, "print usage")
	f.StringVar(&o.name, "name", "", "assign a name to the container")
	stringArrayVarP(f, &o.env, "env", "e", "set environment variables")
	stringArrayVarP(f, &o.envFiles, "env-file", "", "read in a file of environment variables")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&o.entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	f.StringVarP(&o.hostname, "hostname", "h", "", "container host name")
	f.StringVar(&o.network, "network", "bridge", `connect a container to a network: "bridge", "host", "none" or a network's name`)
	f.StringVar(&o.network, "net", "bridge", "alias of --network")
	addNetFlags(f, &o.net)
	_ = f.MarkHidden("net")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-TTY")
	f.BoolVar(&o.rm, "rm", false, "automatically remove the container and its associated anonymous volumes when it exits")
	f.BoolVar(&o.privileged, "privileged", false, "give extended privileges to this container")
	stringArrayVarP(f, &o.capAdd, "cap-add", "", "add Linux capabilities")
	stringArrayVarP(f, &o.capDrop, "cap-drop", "", "drop Linux capabilities")
	stringArrayVarP(f, &o.securityOpt, "security-opt", "", "security options (no-new-privileges, seccomp=unconfined)")
	stringArrayVarP(f, &o.groupAdd, "group-add", "", "add additional groups to join")
	f.BoolVar(&o.readOnly, "read-only", false, "mount the container's root filesystem as read only")
	f.StringVarP(&o.memory, "memory", "m", "", "memory limit")
	f.Int64Var(&o.pidsLimit, "pids-limit", 0, "tune container pids limit (set -1 for unlimited)")
	f.Float64Var(&o.cpus, "cpus", 0, "number of CPUs")
	f.BoolVar(&o.init, "init", false, "run an init inside the container that forwards signals and reaps processes")
	stringArrayVarP(f, &o.labels, "label", "l", "set meta data on a container")
	f.StringVar(&o.pull, "pull", "missing", `pull image before running ("always", "missing", "never")`)
	f.StringVar(&o.platform, "platform", "", "set platform if server is multi-platform capable")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "suppress the pull output")
	f.StringVar(&o.traceFile, "trace", "", "record the container's lifecycle events as JSON lines in FILE")
	addMoreContainerFlags(f, &o.more)
	stringArrayVarP(f, &o.volumes, "volume", "v", "bind mount a volume ([SOURCE:]TARGET[:ro]; SOURCE a host path or a volume name)")
	stringArrayVarP(f, &o.mounts, "mount", "", "attach a filesystem mount to the container (type=bind|volume,source=...,target=...[,readonly])")
	stringArrayVarP(f, &o.volumesFrom, "volumes-from", "", "mount volumes from the specified container(s) (CONTAINER[:ro|rw])")
}

// createOptions turns the flags into the engine's options.
func (o *containerFlags) createOptions(cmd *cobra.Command, image string, args []string) (engine.ContainerCreateOptions, error) {
	opts := engine.ContainerCreateOptions{
		Image: image, Name: o.name, Cmd: args, WorkingDir: o.workdir, User: o.user,
		Hostname: o.hostname, Tty: o.tty, OpenStdin: o.interactive, NetworkMode: o.network,
		Privileged: o.privileged, CapAdd: o.capAdd, CapDrop: o.capDrop, SecurityOpt: o.securityOpt,
		GroupAdd: o.groupAdd, ReadonlyRootfs: o.readOnly, PidsLimit: o.pidsLimit, Init: o.init,
		AutoRemove: o.rm, Purpose: "run", Net: o.net.options(),
	}
	if err := o.net.validate(); err != nil {
		return opts, err
	}
	o.net.warnDiscarded(cmd.ErrOrStderr(), o.network)
	if cmd.Flags().Changed("entrypoint") {
		opts.Entrypoint = []string{}
		if o.entrypoint != "" {
			opts.Entrypoint = []string{o.entrypoint}
		}
	}
	if err := o.more.apply(cmd, &opts); err != nil {
		return opts, err
	}
	env, err := readEnv(o.envFiles, o.env)
	if err != nil {
		return opts, err
	}
	opts.Env = env
	if o.memory != "" {
		if opts.Memory, err = ramInBytes(o.memory); err != nil {
			return opts, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %v", o.memory, err)
		}
	}
	if o.cpus != 0 {
		opts.NanoCPUs = int64(o.cpus * 1e9)
	}
	if len(o.labels) > 0 {
		opts.Labels = map[string]string{}
		for _, l := range o.labels {
			k, v, _ := strings.Cut(l, "=")
			opts.Labels[k] = v
		}
	}
	if err := o.mountOptions(&opts); err != nil {
		return opts, err
	}
	switch o.pull {
	case "always", "missing", "never":
	default:
		return opts, fmt.Errorf("invalid pull option: '%s': must be one of \"always\", \"missing\" or \"never\"", o.pull)
	}
	return opts, nil
}

// readEnv reads --env-file files then -e values, as docker does: a bare
// KEY takes its value from berth's own environment, or is dropped.
func readEnv(files, flags []string) ([]string, error) {
	var out []string
	add := func(kv string) {
		if k, _, ok := strings.Cut(kv, "="); ok {
			if k != "" {
				out = append(out, kv)
			}
			return
		}
		if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimLeft(sc.Text(), " \t")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.ContainsAny(strings.SplitN(line, "=", 2)[0], " \t") {
				f.Close()
				return nil, fmt.Errorf("variable '%s' contains whitespaces", strings.SplitN(line, "=", 2)[0])
			}
			add(line)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	for _, kv := range flags {
		add(kv)
	}
	return out, nil
}

// ramInBytes is go-units' RAMInBytes: "512m", "1g", "1.5GB", "100000" (binary units).
func ramInBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		case 'p':
			mult = 1 << 50
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	return int64(n * float64(mult)), nil
}

func familiarName(name string) string {
	if ref, err := store.ParseRef(name); err == nil {
		return store.Familiar(ref.String())
	}
	return name
}

type createOptions struct {
	flags  containerFlags
	image  string
	args   []string
	out    io.Writer
	errOut io.Writer
}

func newCreateCmd(g *globalOptions) *cobra.Command {
	opts := &createOptions{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Long: `Create a container from an image without starting it: its record, and an
overlay snapshot over the image's layers. berth start runs it.`,
		Example: `  berth create --name web busybox httpd -f -p 8080
  berth start web`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.image, opts.args = args[0], args[1:]
			opts.out, opts.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
			co, err := opts.flags.createOptions(cmd, opts.image, opts.args)
			if err != nil {
				return &ExitError{Code: 125, Err: err}
			}
			return runCreate(cmd.Context(), g, opts, co)
		},
	}
	addContainerFlags(cmd.Flags(), &opts.flags)
	return cmd
}

func runCreate(ctx context.Context, g *globalOptions, opts *createOptions, co engine.ContainerCreateOptions) error {
	eng, err := g.engine()
	if err != nil {
		return &ExitError{Code: 125, Err: err}
	}
	b := localBackend{eng: eng}
	stop, err := b.TraceTo(opts.flags.traceFile)
	if err != nil {
		return &ExitError{Code: 125, Err: err}
	}
	defer stop()
	id, err := createContainer(ctx, b, &opts.flags, co, false, opts.errOut)
	if err != nil {
		return &ExitError{Code: 125, Err: err}
	}
	fmt.Fprintln(opts.out, id)
	return nil
}
