package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/berthkit/berth/daemon"
	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
)

// runImagesRemote is `berth --host ... images`: the daemon's list, one row
// per name, as runImages prints it.
func runImagesRemote(ctx context.Context, g *globalOptions, opts *imagesOptions) error {
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.Images(ctx, opts.all, opts.reference, opts.filters)
	if err != nil {
		return err
	}
	lf, err := imagesListFormat(opts)
	if err != nil {
		return err
	}
	rows := make([]any, 0, len(list))
	for _, s := range list {
		id := s.ID
		if !opts.noTrunc {
			id = shortID(id)
		}
		created := time.Unix(s.Created, 0)
		if t, err := time.Parse(time.RFC3339Nano, s.BerthCreated); err == nil {
			created = t
		}
		row := imageRow{
			Containers: "N/A", CreatedAt: createdAt(created), CreatedSince: createdSince(created),
			Digest: "<none>", ID: id, SharedSize: "N/A", Size: imageSize(s.Size), UniqueSize: "N/A",
			VirtualSize: imageSize(s.Size),
		}
		if len(s.RepoTags) == 0 {
			row.Repository, row.Tag = "<none>", "<none>"
			rows = append(rows, row)
			continue
		}
		for _, name := range s.RepoTags {
			ref, err := reference.ParseNormalizedNamed(name)
			if err != nil {
				continue
			}
			r := row
			r.Repository, r.Tag = store.SplitFamiliar(ref.String())
			for _, rd := range s.RepoDigests {
				if canonical, err := reference.ParseNormalizedNamed(rd); err == nil && canonical.Name() == ref.Name() {
					if d, ok := canonical.(reference.Canonical); ok {
						r.Digest = d.Digest().String()
					}
				}
			}
			rows = append(rows, r)
		}
	}
	return lf.write(opts.out, rows)
}

// runTagRemote is `berth --host ... tag`.
func runTagRemote(ctx context.Context, g *globalOptions, opts *tagOptions) error {
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	// The whole target as the repository: the engine parses it as
	// in-process.
	return c.Tag(ctx, opts.source, opts.target, "")
}

// runRmiRemote is `berth --host ... rmi`.
func runRmiRemote(ctx context.Context, g *globalOptions, opts *rmiOptions) error {
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	var errs []error
	for _, name := range opts.images {
		resp, err := c.RemoveImage(ctx, name, opts.force, opts.noPrune)
		records := make([]engine.RemoveRecord, 0, len(resp))
		for _, r := range resp {
			records = append(records, engine.RemoveRecord{Untagged: r.Untagged, Deleted: r.Deleted})
		}
		printRemoveRecords(opts.out, records, "Untagged: ", "Deleted: ")
		if err != nil {
			errs = append(errs, err)
		}
	}
	return rmiErrors(opts, errs)
}

// printProgress prints a pull or push stream; quiet prints nothing.
func printProgress(body io.Reader, out io.Writer, quiet bool) error {
	return client.ReadStream(body, func(m daemon.Message) error {
		if !quiet {
			if m.Stream != "" {
				io.WriteString(out, m.Stream)
			}
			writeStatus(out, m)
		}
		return nil
	})
}

// runPullRemote is `berth --host ... pull`: the daemon pulls into its
// store with its own credentials and registry settings.
func runPullRemote(ctx context.Context, g *globalOptions, opts *pullOptions) error {
	if opts.allTags {
		return notRemote("--all-tags", "pull the tags one by one")
	}
	if len(opts.insecure) > 0 {
		return notRemote("--insecure-registry", "set it in registries.json of the daemon's root")
	}
	if opts.traceFile != "" {
		return notRemote("--trace", "record the daemon's events with berth trace follow")
	}
	ref, err := store.ParseRef(opts.name)
	if err != nil {
		return err
	}
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	body, err := c.Pull(ctx, opts.name, opts.platform)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := printProgress(body, opts.out, opts.quiet); err != nil {
		return err
	}
	fmt.Fprintln(opts.out, ref.String())
	return nil
}

// runPushRemote is `berth --host ... push`.
func runPushRemote(ctx context.Context, g *globalOptions, opts *pushOptions) error {
	if len(opts.insecure) > 0 {
		return notRemote("--insecure-registry", "set it in registries.json of the daemon's root")
	}
	if opts.traceFile != "" {
		return notRemote("--trace", "record the daemon's events with berth trace follow")
	}
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	names := []string{opts.name}
	if opts.allTags {
		if names, err = remoteTags(ctx, c, opts.name); err != nil {
			return err
		}
	}
	for _, name := range names {
		body, err := c.Push(ctx, name)
		if err != nil {
			return err
		}
		err = printProgress(body, opts.out, opts.quiet)
		body.Close()
		if err != nil {
			return err
		}
		if opts.quiet {
			if err := printPushedName(opts.out, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// remoteTags is localTags against the daemon's store.
func remoteTags(ctx context.Context, c *client.Client, repo string) ([]string, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %w", err)
	}
	if !reference.IsNameOnly(named) {
		return nil, fmt.Errorf("tag can't be used with --all-tags/-a")
	}
	list, err := c.Images(ctx, true, "", nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list {
		for _, name := range s.RepoTags {
			ref, err := reference.ParseNormalizedNamed(name)
			if err != nil || ref.Name() != named.Name() {
				continue
			}
			if _, ok := ref.(reference.Tagged); ok {
				out = append(out, ref.String())
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("An image does not exist locally with the tag: %s", reference.FamiliarName(named))
	}
	sort.Strings(out)
	return out, nil
}

// runCommitRemote is `berth --host ... commit`.
func runCommitRemote(ctx context.Context, g *globalOptions, opts *commitOptions) error {
	if opts.traceFile != "" {
		return notRemote("--trace", "record the daemon's events with berth trace follow")
	}
	c, err := remoteClient(g)
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.Commit(ctx, opts.container, client.CommitOptions{
		Repo: opts.ref, Comment: opts.message, Author: opts.author, Changes: opts.changes, Pause: opts.pause,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.out, id)
	return nil
}
