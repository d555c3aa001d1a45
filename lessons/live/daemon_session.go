package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthkit/berth/lessons"
)

// DaemonOptions configure PrepareDaemon.
type DaemonOptions struct {
	Host   string // the daemon's address
	Base   string // busybox, alpine or debian; "" picks what the daemon has
	Dir    string // where the workspace is made ("" = $TMPDIR)
	Lesson string
}

// DaemonSession is a live lesson whose engine is a berth daemon: the
// lesson's files are in a workspace of the client's, the images and the
// build cache are the daemon's.
type DaemonSession struct {
	Dir       string
	Workspace string
	Base      string
	Why       string
	Backend   *DaemonBackend
}

// PrepareDaemon connects to the daemon and picks the base from its images.
func PrepareDaemon(ctx context.Context, opts DaemonOptions) (*DaemonSession, error) {
	be, err := Dial(ctx, opts.Host)
	if err != nil {
		return nil, err
	}
	base, why, err := daemonBase(ctx, be, opts.Base)
	if err != nil {
		be.Close()
		return nil, err
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			be.Close()
			return nil, fmt.Errorf("make the lesson's directory: %w", err)
		}
	}
	dir, err := os.MkdirTemp(opts.Dir, "berth-lesson-"+opts.Lesson+"-")
	if err != nil {
		be.Close()
		return nil, fmt.Errorf("make the lesson's directory: %w", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	s := &DaemonSession{Dir: dir, Workspace: filepath.Join(dir, "workspace"), Base: base, Backend: be}
	if err := os.MkdirAll(s.Workspace, 0o755); err != nil {
		s.Close(false)
		return nil, err
	}
	s.Why = "Via the daemon at " + opts.Host + ": over its socket go the requests (build, create, start, commit) and each build's context, the workspace's files as a tar; the daemon does the work in its own root and streams its trace back. " + why
	return s, nil
}

// daemonBase picks the base among the daemon's images, as Prepare does
// among the user's: alpine, else debian, else busybox. A debian with
// another tag is tagged debian:latest, which the lesson's FROM names.
func daemonBase(ctx context.Context, be *DaemonBackend, asked string) (string, string, error) {
	if asked != "" {
		if _, err := lessons.Profile(asked); err != nil {
			return "", "", err
		}
	}
	imgs, err := be.c.Images(ctx, false, "", nil)
	if err != nil {
		return "", "", fmt.Errorf("list the daemon's images: %w", err)
	}
	has := map[string]string{}
	for _, img := range imgs {
		for _, t := range img.RepoTags {
			repo, _, _ := strings.Cut(strings.TrimPrefix(t, "docker.io/library/"), ":")
			if t == repo+":latest" || has[repo] == "" {
				has[repo] = t
			}
		}
	}
	order := []string{"alpine", "debian", "busybox"}
	if asked != "" {
		order = []string{asked}
	}
	for _, base := range order {
		ref, ok := has[base]
		if !ok {
			continue
		}
		why := fmt.Sprintf("Base %s, from the daemon's images.", base)
		if asked != "" {
			why = fmt.Sprintf("Base %s, as asked (--base %s), from the daemon's images.", base, base)
		}
		if !strings.HasSuffix(ref, ":latest") {
			repo, tag, _ := strings.Cut(ref, ":")
			if err := be.c.Tag(ctx, ref, repo, "latest"); err != nil {
				return "", "", fmt.Errorf("tag the daemon's %s as %s:latest: %w", ref, repo, err)
			}
			why += fmt.Sprintf(" Its %s was tagged %s:latest, the name FROM uses.", tag, repo)
		}
		return base, why, nil
	}
	return "", "", fmt.Errorf("%w: the daemon at %s has no %s image: give it one (berth --root DAEMON_ROOT bootstrap busybox or bootstrap debian, or berth --host %s pull alpine), or drop --via-daemon",
		ErrNoBase, be.Host, strings.Join(order, ", "), be.Host)
}

// Close removes what the lesson left on the daemon (containers and
// networks it made; its images stay, they are the daemon's now), stops
// following the daemon and, unless keep, removes the workspace.
func (s *DaemonSession) Close(keep bool) error {
	err := s.Backend.cleanup(context.Background())
	s.Backend.Close()
	if !keep {
		if rerr := os.RemoveAll(s.Dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}
