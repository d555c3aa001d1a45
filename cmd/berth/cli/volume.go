package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/engine/volume"
	"github.com/moby/moby/api/types/mount"
	"github.com/spf13/cobra"
)

// volumeEngine is the in-process engine for the volume verbs; with
// --host they are refused (docker volume talks to berth daemon).
func (g *globalOptions) volumeEngine() (*engine.Engine, error) {
	if g.host != "" {
		return nil, notRemote("berth volume", "use docker volume with DOCKER_HOST set to the daemon")
	}
	return g.engine()
}

// volumeJSON is a volume as docker volume inspect prints it.
type volumeJSON struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

func volumeView(v *store.Volume) volumeJSON {
	return volumeJSON{
		CreatedAt: v.CreatedAt.Format(time.RFC3339), Driver: v.Driver, Labels: v.Labels,
		Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: "local",
	}
}

// newVolumeCmd is docker's "volume" management command.
func newVolumeCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Long: `Volumes are directories in the store (volumes/<name>/_data) that containers
mount with -v name:/path or --mount source=name,target=/path; they outlive
the containers, and commit never includes them. See docs/volumes.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newVolumeCreateCmd(g), newVolumeLsCmd(g), newVolumeInspectCmd(g),
		newVolumeRmCmd(g), newVolumePruneCmd(g))
	return cmd
}

func newVolumeCreateCmd(g *globalOptions) *cobra.Command {
	var driver string
	var labels, opts []string
	cmd := &cobra.Command{
		Use:     "create [OPTIONS] [VOLUME]",
		Short:   "Create a volume",
		Example: "  berth volume create data\n  berth run -v data:/data busybox touch /data/x",
		Args:    requireArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "local" {
				return fmt.Errorf("error looking up volume plugin %s: plugin %q not found (berth has the local driver only)", driver, driver)
			}
			if len(opts) > 0 {
				return fmt.Errorf("volume options (-o %s) are not supported by berth's local driver", opts[0])
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			eng, err := g.volumeEngine()
			if err != nil {
				return err
			}
			v, err := eng.CreateVolume(cmd.Context(), name, parseLabels(labels))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "local", "specify volume driver name")
	stringArrayVarP(f, &labels, "label", "", "set metadata for a volume")
	stringArrayVarP(f, &opts, "opt", "o", "set driver specific options (none supported)")
	return cmd
}

func parseLabels(in []string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, l := range in {
		k, v, _ := strings.Cut(l, "=")
		out[k] = v
	}
	return out
}

func newVolumeLsCmd(g *globalOptions) *cobra.Command {
	var quiet bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.volumeEngine()
			if err != nil {
				return err
			}
			vols, err := eng.Volumes(cmd.Context())
			if err != nil {
				return err
			}
			if vols, err = eng.FilterVolumes(vols, filters); err != nil {
				return err
			}
			if quiet {
				format = "{{.Name}}"
			}
			lf, err := newListFormat(format, "table {{.Driver}}\t{{.Name}}", map[string]string{"Driver": "DRIVER", "Name": "VOLUME NAME"})
			if err != nil {
				return err
			}
			rows := make([]any, len(vols))
			for i, v := range vols {
				rows[i] = volumeView(v)
			}
			return lf.write(cmd.OutOrStdout(), rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "only display volume names")
	f.StringVar(&format, "format", "", "format output using a Go template (or 'json')")
	stringArrayVarP(f, &filters, "filter", "f", "filter output (dangling=true|false, name=..., label=...)")
	return cmd
}

func newVolumeInspectCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.volumeEngine()
			if err != nil {
				return err
			}
			var found []any
			var errs []string
			for _, name := range args {
				v, err := eng.Volume(cmd.Context(), name)
				if err != nil {
					if errors.Is(err, store.ErrNotFound) {
						err = dockerMessage("No such volume: " + name)
					}
					errs = append(errs, err.Error())
					continue
				}
				found = append(found, volumeView(v))
			}
			if err := printInspect(cmd.OutOrStdout(), format, found); err != nil {
				return err
			}
			if len(errs) > 0 {
				return errors.New(strings.Join(errs, "\n"))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output using a Go template (or 'json')")
	return cmd
}

// printInspect prints values as docker's inspect verbs do: an indented JSON
// array, or a template per value.
func printInspect(w io.Writer, format string, found []any) error {
	if format == "" || format == "json" {
		if found == nil {
			found = []any{}
		}
		data, err := json.MarshalIndent(found, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(data))
		return nil
	}
	lf, err := newListFormat(format, "", nil)
	if err != nil {
		return err
	}
	rows := make([]any, len(found))
	for i, v := range found {
		if rows[i], err = jsonValue(v); err != nil {
			return err
		}
	}
	return lf.write(w, rows)
}

func newVolumeRmCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Long: `Remove volumes and their content. A volume any container uses (running or
not) is refused: remove the container first (berth rm -v removes its
anonymous volumes).`,
		Args: requireArgs(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.volumeEngine()
			if err != nil {
				return err
			}
			return forEachContainer(args, cmd.OutOrStdout(), cmd.ErrOrStderr(), func(name string) error {
				return eng.RemoveVolume(cmd.Context(), name, force)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not fail on a volume that does not exist")
	return cmd
}

func newVolumePruneCmd(g *globalOptions) *cobra.Command {
	var force, all bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Long: `Remove the volumes no container uses: anonymous ones only (those made for
an image's VOLUME or -v /path), or every unused one with --all, as Docker.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if !force {
				what := "anonymous local volumes"
				if all {
					what = "all local volumes"
				}
				fmt.Fprintf(out, "WARNING! This will remove %s not used by at least one container.\nAre you sure you want to continue? [y/N] ", what)
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			eng, err := g.volumeEngine()
			if err != nil {
				return err
			}
			removed, reclaimed, err := eng.PruneVolumes(cmd.Context(), all)
			printPruned(out, "Deleted Volumes:", removed)
			if err != nil {
				return err
			}
			fmt.Fprintln(out, "Total reclaimed space:", humanSize(reclaimed))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove all unused volumes, not just anonymous ones")
	return cmd
}

func printPruned(out io.Writer, title string, names []string) {
	if len(names) == 0 {
		return
	}
	sort.Strings(names)
	fmt.Fprintln(out, title)
	for _, n := range names {
		fmt.Fprintln(out, n)
	}
	fmt.Fprintln(out)
}

// parseMountFlags parses run/create's --mount values, worded as the docker
// CLI words a bad flag value.
func parseMountFlags(specs []string) ([]volume.Mount, error) {
	var out []volume.Mount
	for _, s := range specs {
		m, err := volume.ParseMount(s)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--mount\" flag: %v", s, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// mountOptions puts -v, --mount and --volumes-from into the engine's
// options. A relative -v source starting with "." is made absolute, as
// the docker CLI does; any other relative source is a volume name.
func (o *containerFlags) mountOptions(opts *engine.ContainerCreateOptions) error {
	for _, v := range o.volumes {
		if src, rest, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(src, ".") {
			abs, err := filepath.Abs(src)
			if err != nil {
				return err
			}
			v = abs + ":" + rest
		}
		// Refused before any pull, as docker does.
		if _, err := volume.ParseVolume(v); err != nil {
			return err
		}
		opts.Binds = append(opts.Binds, v)
	}
	mounts, err := parseMountFlags(o.mounts)
	if err != nil {
		return err
	}
	opts.Mounts, opts.MountSpecs, opts.VolumesFrom = mounts, o.mounts, o.volumesFrom
	return nil
}

// apiMounts is --mount in the Engine API's shape (HostConfig.Mounts).
func apiMounts(in []volume.Mount) []mount.Mount {
	var out []mount.Mount
	for _, m := range in {
		am := mount.Mount{Type: mount.Type(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
		switch m.Type {
		case volume.TypeBind:
			if m.Propagation != "" {
				am.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(m.Propagation)}
			}
		case volume.TypeVolume:
			if m.NoCopy {
				am.VolumeOptions = &mount.VolumeOptions{NoCopy: true}
			}
		case volume.TypeTmpfs:
			am.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsSize, Mode: os.FileMode(m.TmpfsMode)}
		}
		out = append(out, am)
	}
	return out
}
