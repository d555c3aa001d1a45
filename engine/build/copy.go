package build

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthkit/berth/engine/build/cache"
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/layer"
	"github.com/berthkit/berth/engine/store"
	securejoin "github.com/cyphar/filepath-securejoin"
)

// copySource is one thing a COPY or ADD copies.
type copySource struct {
	root    string // host directory the source lives under
	rel     string // slash path under root ("." for root itself)
	isDir   bool
	inline  *dockerfile.Heredoc
	archive bool   // ADD of a local tar: extract instead of copying
	name    string // for downloads and heredocs: the file name to create
	tmpFile string // downloaded file (removed after the step)
	// ctxt is set for sources from the build context: only what it lists
	// (what .dockerignore lets through) is copied from a directory.
	ctxt *Context
	// keepOwner: a COPY --from source keeps its owner unless --chown is
	// given, as Docker's (dispatchers.go, dispatchCopy: preserveOwnership).
	keepOwner bool
}

// dispatchCopy copies files from the context, another stage or image, a
// URL or a heredoc into a container that never starts; the snapshot is the
// step's layer. The key holds the sources' checksums, so a changed file
// misses.
func (b *Builder) dispatchCopy(ctx context.Context, s *stageState, ins *dockerfile.Instruction, res *StepResult) error {
	paths, inline, rawDest := ins.SourcesAndDest()
	if len(paths)+len(inline) == 0 {
		return fmt.Errorf("%s requires at least two arguments, but only one was provided. Destination could not be determined", ins.Keyword)
	}
	dest, err := b.expand(s, rawDest)
	if err != nil {
		return err
	}
	flags, err := b.copyFlags(s, ins)
	if err != nil {
		return err
	}
	for i, p := range paths {
		if paths[i], err = b.expand(s, p); err != nil {
			return err
		}
	}
	// Where the sources come from: the context, or another stage or image.
	var plan copyPlan
	defer plan.cleanup()
	if from, ok := ins.Flag("from"); ok {
		if from, err = b.expand(s, from); err != nil {
			return err
		}
		done, err := b.planCopyFrom(ctx, s, ins, from, paths, &plan, res)
		if err != nil || done {
			return err
		}
	} else if err := b.planContextCopy(ctx, ins, paths, dest, &plan); err != nil {
		return err
	}
	if err := plan.addHeredocs(inline, s.expandEnv()); err != nil {
		return err
	}
	spec := &stepSpec{ins: ins, key: cache.Key(cache.CopyCmd(s.shell(), ins.Keyword, flags.text, plan.keyParts, dest)),
		sources: plan.sums,
		container: ContainerRequest{Env: s.config.Config.Env, WorkingDir: s.config.Config.WorkingDir,
			User: s.config.Config.User, Purpose: "copy", NeverStarts: true},
		work: func(ctx context.Context, id string) error {
			return b.copyIntoContainer(ctx, id, s, plan.sources, dest, flags.chown, flags.chmod)
		}}
	spec.prepare = func(ctx context.Context) error {
		if err := b.planSourcesFromImage(ctx, ins, &plan); err != nil {
			return err
		}
		// The history shows the content checksums, as Docker's; for COPY
		// --from the cache key holds the source image's ID instead (see
		// planCopyFrom), so the two differ only there.
		spec.container.Cmd = cache.CopyCmd(s.shell(), ins.Keyword, flags.text, plan.historyParts, dest)
		spec.createdBy = cache.Key(spec.container.Cmd)
		if len(plan.sources) > 1 && !strings.HasSuffix(dest, "/") {
			return fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /", ins.Keyword)
		}
		return nil
	}
	return b.commitStep(ctx, s, spec, res)
}

// copyFlags are a COPY or ADD's --chown and --chmod.
type copyFlags struct {
	chown string
	chmod *fs.FileMode
	// text is how they show in the key and the history: "--chown=%s "
	// with the expanded value (internals.go, performCopy). (--chmod needs
	// BuildKit in Docker; berth writes it the same way.)
	text string
}

func (b *Builder) copyFlags(s *stageState, ins *dockerfile.Instruction) (copyFlags, error) {
	var f copyFlags
	chown, _ := ins.Flag("chown")
	chown, err := b.expand(s, chown)
	if err != nil {
		return f, err
	}
	f.chown = chown
	if chown != "" {
		f.text += "--chown=" + chown + " "
	}
	chmodText, _ := ins.Flag("chmod")
	if chmodText != "" {
		n, err := strconv.ParseUint(chmodText, 8, 32)
		if err != nil || n > 0o7777 {
			return f, fmt.Errorf("invalid chmod parameter: %s", chmodText)
		}
		m := fs.FileMode(n)
		f.chmod = &m
		f.text += "--chmod=" + chmodText + " "
	}
	return f, nil
}

// copyPlan is what a COPY or ADD will copy and how its step is named.
type copyPlan struct {
	sources []copySource
	// keyParts make the cache key, historyParts the history's created_by:
	// the same for the context; for COPY --from, the key names the source
	// image and paths, the history the content checksums.
	keyParts, historyParts []string
	sums                   map[string]string // context path → checksum, for "which file changed"
	// from* describe a COPY --from source: the image, its mount, the paths.
	fromImage *store.Image
	fromPaths []string
	fromRoot  string
	unmount   func()
	cleanups  []func()
}

func (p *copyPlan) add(part string, src copySource) {
	p.keyParts = append(p.keyParts, part)
	p.historyParts = append(p.historyParts, part)
	p.sources = append(p.sources, src)
}

// addHeredocs adds a COPY's here-documents, expanded unless quoted, after
// the files.
func (p *copyPlan) addHeredocs(inline []dockerfile.Heredoc, env []string) error {
	for i := range inline {
		h := inline[i]
		content := h.Data()
		if h.Expand {
			var err error
			if content, err = dockerfile.ExpandHeredoc(content, env); err != nil {
				return err
			}
		}
		h.Content, h.Chomp = content, false
		sum := sha256.Sum256([]byte(content))
		p.add("file:"+hex.EncodeToString(sum[:]), copySource{inline: &h, name: h.Name})
	}
	return nil
}

func (p *copyPlan) cleanup() {
	for _, f := range p.cleanups {
		f()
	}
	if p.unmount != nil {
		p.unmount()
	}
}

// planContextCopy resolves sources in the build context (and ADD's URLs).
func (b *Builder) planContextCopy(ctx context.Context, ins *dockerfile.Instruction, paths []string, dest string, plan *copyPlan) error {
	plan.sums = map[string]string{}
	for _, p := range paths {
		if ins.Keyword == "ADD" && isURL(p) {
			src, sum, err := b.download(ctx, p, dest)
			if err != nil {
				return err
			}
			plan.cleanups = append(plan.cleanups, func() { os.RemoveAll(filepath.Dir(src.tmpFile)) })
			plan.sums[p] = sum
			plan.add("file:"+sum, src)
			continue
		}
		if b.ctxt.Dir == "" {
			return fmt.Errorf("%s failed: no build context: a Dockerfile read from stdin (`berth build -`) has no files to copy", ins.Keyword)
		}
		matches, err := b.ctxt.Match(p)
		if err != nil {
			return fmt.Errorf("%s failed: %w", ins.Keyword, err)
		}
		for _, m := range matches {
			src, part, err := sourceIn(b.ctxt, m)
			if err != nil {
				return fmt.Errorf("%s failed: %w", ins.Keyword, err)
			}
			if src.isDir {
				for _, below := range b.ctxt.Below(src.rel) {
					if !b.ctxt.IsDir(below) {
						if ss, err := b.ctxt.Checksum(below); err == nil {
							plan.sums[below] = ss
						}
					}
				}
			} else {
				plan.sums[src.rel] = strings.SplitN(part, ":", 2)[1]
			}
			if ins.Keyword == "ADD" && !src.isDir {
				src.archive = isArchive(filepath.Join(src.root, filepath.FromSlash(src.rel)))
			}
			plan.add(part, src)
		}
	}
	return nil
}

// sourceIn turns a matched path into a copy source and its marker part
// ("file:<sha>", "dir:<sha>"). A symlink named as a source is followed,
// inside the context's root, as Docker (remotecontext.FullPath) and Buildah
// do: what it points to is copied, under the name it was given.
func sourceIn(c *Context, m string) (copySource, string, error) {
	rel := m
	if info, ok := c.Files[m]; ok && info.Mode()&fs.ModeSymlink != 0 {
		host, err := securejoin.SecureJoin(c.Dir, m)
		if err != nil {
			return copySource{}, "", err
		}
		r, _ := filepath.Rel(c.Dir, host)
		rel = filepath.ToSlash(r)
		if _, ok := c.Files[rel]; !ok && rel != "." {
			return copySource{}, "", fmt.Errorf("file not found in build context or excluded by .dockerignore: stat %s: %s points to %s, which is not in the context", m, m, rel)
		}
	}
	sum, err := c.Checksum(rel)
	if err != nil {
		return copySource{}, "", err
	}
	kind := "file"
	if c.IsDir(rel) {
		kind = "dir"
	}
	return copySource{root: c.Dir, rel: rel, name: path.Base(m), isDir: c.IsDir(rel), ctxt: c}, kind + ":" + sum, nil
}

// planCopyFrom resolves COPY --from. Its cache key is the source image's
// ID and the paths, known without mounting the image, so --explain can
// answer for it; the image is mounted only when the step runs. done is set
// when --explain has already reported the step.
func (b *Builder) planCopyFrom(ctx context.Context, s *stageState, ins *dockerfile.Instruction, from string, paths []string, plan *copyPlan, res *StepResult) (bool, error) {
	img, src, err := b.copyFromImage(ctx, from)
	if err != nil {
		return false, err
	}
	if img == nil {
		if b.opts.Explain {
			b.explainCopyFrom(s, ins, from, src, res)
			return true, nil
		}
		return false, fmt.Errorf("%s --from=%s: stage %s built no image: it has nothing to copy", ins.Keyword, from, from)
	}
	plan.fromImage, plan.fromPaths = img, paths
	plan.keyParts = append(plan.keyParts, cache.CopyFromParts(img.ID.String(), paths)...)
	return false, nil
}

// planSourcesFromImage mounts the COPY --from image and resolves the paths
// in it, with checksums for the history, as the classic builder hashes an
// image source like the context (copy.go, calcCopyInfo).
func (b *Builder) planSourcesFromImage(ctx context.Context, ins *dockerfile.Instruction, plan *copyPlan) error {
	if plan.fromImage == nil {
		return nil
	}
	root, unmount, err := b.mountImage(ctx, plan.fromImage)
	if err != nil {
		return err
	}
	plan.fromRoot, plan.unmount = root, unmount
	var parts []string
	var sources []copySource
	for _, p := range plan.fromPaths {
		matches, err := matchInRoot(root, p)
		if err != nil {
			return fmt.Errorf("%s failed: %w", ins.Keyword, err)
		}
		srcCtx, err := imageContext(root, matches)
		if err != nil {
			return err
		}
		for _, m := range matches {
			src, part, err := sourceIn(srcCtx, m.rel)
			if err != nil {
				return fmt.Errorf("%s failed: %w", ins.Keyword, err)
			}
			src.name, src.keepOwner = m.name, true
			sources = append(sources, src)
			parts = append(parts, part)
		}
	}
	// Heredocs come after the files.
	plan.historyParts = append(parts, plan.historyParts...)
	plan.sources = append(sources, plan.sources...)
	return nil
}

// explainCopyFrom reports a COPY --from whose source --explain cannot know:
// a stage that would be rebuilt, or an image that would be pulled.
func (b *Builder) explainCopyFrom(s *stageState, ins *dockerfile.Instruction, from string, src *stageState, res *StepResult) {
	unknown := &cache.UnknownSource{From: from, NotStored: src == nil}
	if src != nil {
		unknown.PendingBase, unknown.RebuiltFrom = src.pending, src.bustedStep
	}
	b.decide(s, ins, "", nil, unknown, res)
}

// copyFromImage resolves COPY --from: a stage name or index, or an image,
// pulled when it is not in the store, as Docker (dispatchers.go,
// getImageMount). The stage is returned too; in --explain a stage that
// would be rebuilt, or an image that would be pulled, has no image.
func (b *Builder) copyFromImage(ctx context.Context, from string) (*store.Image, *stageState, error) {
	lower := strings.ToLower(from)
	current := len(b.stages) - 1
	for i, st := range b.stages[:current] {
		if st.stage.Name == lower || strconv.Itoa(i) == from {
			return st.image, st, nil
		}
	}
	for _, st := range b.df.Stages {
		if st.Name == lower || strconv.Itoa(st.Index) == from {
			return nil, nil, fmt.Errorf("COPY --from=%s: stage %q is defined later in the Dockerfile; a stage can only copy from stages before it", from, from)
		}
	}
	img, err := b.store.Image(from)
	if errors.Is(err, store.ErrNotFound) {
		if b.opts.Explain {
			return nil, nil, nil
		}
		img, err = b.backend.Pull(ctx, from, b.opts.Progress)
	}
	if err != nil {
		// Docker's wording (dispatchers.go, dispatchCopy).
		return nil, nil, fmt.Errorf("invalid from flag value %s: %w", from, err)
	}
	return img, nil, nil
}

// mountImage makes an image's root filesystem readable through a container
// that never starts.
func (b *Builder) mountImage(ctx context.Context, img *store.Image) (string, func(), error) {
	// The container never starts, so the image's CMD does not matter (an
	// image with none is as good a source); it only needs a command.
	id, err := b.backend.CreateContainer(ctx, ContainerRequest{Image: img.ID, Cmd: []string{"#(nop) COPY --from source"},
		Purpose: "copy", Step: b.step, NeverStarts: true})
	if err != nil {
		return "", nil, err
	}
	root, unmount, err := b.backend.MountContainer(ctx, id)
	if err != nil {
		b.backend.RemoveContainer(context.WithoutCancel(ctx), id)
		return "", nil, err
	}
	return root, func() {
		unmount()
		b.backend.RemoveContainer(context.WithoutCancel(ctx), id)
	}, nil
}

func (b *Builder) copyIntoContainer(ctx context.Context, id string, s *stageState, sources []copySource, dest, chown string, chmod *fs.FileMode) error {
	rootfs, unmount, err := b.backend.MountContainer(ctx, id)
	if err != nil {
		return err
	}
	defer unmount()
	uid, gid := 0, 0
	if chown != "" {
		uid, gid, err = lookupOwner(rootfs, chown)
		if err != nil {
			return err
		}
	}
	if !path.IsAbs(dest) {
		wd := s.config.Config.WorkingDir
		if wd == "" {
			wd = "/"
		}
		trailing := strings.HasSuffix(dest, "/") || dest == "."
		dest = path.Join(wd, dest)
		if trailing {
			dest += "/"
		}
	}
	c := &copier{rootfs: rootfs, uid: uid, gid: gid, chmod: chmod}
	for _, src := range sources {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.keepOwner = src.keepOwner && chown == ""
		if err := c.copy(ctx, src, dest); err != nil {
			return err
		}
	}
	return nil
}

type copier struct {
	rootfs   string
	uid, gid int
	chmod    *fs.FileMode
	// keepOwner copies each entry's owner instead of uid:gid.
	keepOwner bool
}

// ownerFor is who owns a copied entry: its source's owner when keepOwner,
// else uid:gid (root, or --chown's).
func (c *copier) ownerFor(info fs.FileInfo) (int, int) {
	if c.keepOwner {
		if uid, gid, ok := fileOwner(info); ok {
			return uid, gid
		}
	}
	return c.uid, c.gid
}

// resolve maps a container path to a host path inside rootfs; symlinks in
// the image are followed as the container would see them, never out of it.
func (c *copier) resolve(p string) (string, error) {
	return securejoin.SecureJoin(c.rootfs, p)
}

func (c *copier) isDirIn(p string) bool {
	host, err := c.resolve(p)
	if err != nil {
		return false
	}
	st, err := os.Stat(host)
	return err == nil && st.IsDir()
}

func (c *copier) mkdirAll(p string) error {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return nil
	}
	if err := c.mkdirAll(path.Dir(clean)); err != nil {
		return err
	}
	host, err := c.resolve(clean)
	if err != nil {
		return err
	}
	st, err := os.Lstat(host)
	if err == nil {
		if st.IsDir() {
			return nil
		}
		return fmt.Errorf("%s exists and is not a directory", clean)
	}
	if err := os.Mkdir(host, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return os.Lchown(host, c.uid, c.gid)
}

// copy copies one source to dest: into it when dest is a directory (ends
// in "/" or exists as one), else as it.
func (c *copier) copy(ctx context.Context, src copySource, dest string) error {
	destIsDir := strings.HasSuffix(dest, "/") || c.isDirIn(dest)
	switch {
	case src.inline != nil:
		target, err := c.fileTarget(dest, destIsDir, src.name)
		if err != nil {
			return err
		}
		return c.writeFile(target, strings.NewReader(src.inline.Content), 0o644, time.Now(), c.uid, c.gid)
	case src.tmpFile != "":
		target, err := c.fileTarget(dest, destIsDir, src.name)
		if err != nil {
			return err
		}
		return c.copyDownload(src.tmpFile, target)
	case src.archive:
		return c.extract(ctx, src, dest)
	case src.isDir:
		return c.copyDir(src, dest)
	}
	name := src.name // a followed symlink keeps its own name
	if name == "" {
		name = path.Base(src.rel)
	}
	target, err := c.fileTarget(dest, destIsDir, name)
	if err != nil {
		return err
	}
	full := filepath.Join(src.root, filepath.FromSlash(src.rel))
	st, err := os.Lstat(full)
	if err != nil {
		return err
	}
	return c.copyEntry(full, target, fs.FileInfoToDirEntry(st))
}

// fileTarget is where a single file lands, its directory made.
func (c *copier) fileTarget(dest string, destIsDir bool, name string) (string, error) {
	target := dest
	if destIsDir {
		target = path.Join(dest, name)
	}
	return target, c.mkdirAll(path.Dir(target))
}

// copyDownload writes an ADD URL's file, 0600 as Docker, with the server's
// modification time.
func (c *copier) copyDownload(tmpFile, target string) error {
	f, err := os.Open(tmpFile)
	if err != nil {
		return err
	}
	defer f.Close()
	st, _ := f.Stat()
	return c.writeFile(target, f, 0o600, st.ModTime(), c.uid, c.gid)
}

// extract unpacks an ADD's local tar archive into dest.
func (c *copier) extract(ctx context.Context, src copySource, dest string) error {
	if err := c.mkdirAll(dest); err != nil {
		return err
	}
	target, err := c.resolve(dest)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(src.root, filepath.FromSlash(src.rel)))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := layer.Apply(ctx, target, f, layer.ApplyOptions{Whiteouts: layer.WhiteoutDelete}); err != nil {
		return fmt.Errorf("ADD %s: extract archive: %w", src.rel, err)
	}
	return nil
}

// copyDir copies a directory's contents into dest; from the context, only
// what .dockerignore lets through.
func (c *copier) copyDir(src copySource, dest string) error {
	if err := c.mkdirAll(dest); err != nil {
		return err
	}
	base := filepath.Join(src.root, filepath.FromSlash(src.rel))
	return filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		if rel == "." {
			return nil
		}
		if src.ctxt != nil {
			ctxRel := filepath.ToSlash(rel)
			if src.rel != "." {
				ctxRel = src.rel + "/" + ctxRel
			}
			if _, ok := src.ctxt.Files[ctxRel]; !ok {
				// Excluded by .dockerignore: not part of the context.
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		return c.copyEntry(p, path.Join(dest, filepath.ToSlash(rel)), d)
	})
}

func (c *copier) copyEntry(hostPath, target string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	mode := info.Mode()
	switch {
	case mode.IsDir():
		if err := c.mkdirAll(target); err != nil {
			return err
		}
		host, err := c.resolve(target)
		if err != nil {
			return err
		}
		perm := mode.Perm() | mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		if c.chmod != nil {
			perm = *c.chmod
		}
		if err := os.Chmod(host, toUnixMode(perm)); err != nil {
			return err
		}
		if c.keepOwner {
			uid, gid := c.ownerFor(info)
			if err := os.Lchown(host, uid, gid); err != nil {
				return err
			}
		}
		return os.Chtimes(host, info.ModTime(), info.ModTime())
	case mode&fs.ModeSymlink != 0:
		link, err := os.Readlink(hostPath)
		if err != nil {
			return err
		}
		host, err := c.resolveParent(target)
		if err != nil {
			return err
		}
		os.RemoveAll(host)
		if err := os.Symlink(link, host); err != nil {
			return err
		}
		uid, gid := c.ownerFor(info)
		return os.Lchown(host, uid, gid)
	case mode.IsRegular():
		f, err := os.Open(hostPath)
		if err != nil {
			return err
		}
		defer f.Close()
		uid, gid := c.ownerFor(info)
		return c.writeFile(target, f, mode.Perm()|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), info.ModTime(), uid, gid)
	default:
		return nil // sockets, devices and fifos in a context are skipped, as Docker does
	}
}

// resolveParent resolves the parent of target safely and appends the base
// name, so the final component itself is never followed.
func (c *copier) resolveParent(target string) (string, error) {
	dir, err := c.resolve(path.Dir(path.Clean("/" + target)))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, path.Base(target)), nil
}

func (c *copier) writeFile(target string, r io.Reader, perm fs.FileMode, mtime time.Time, uid, gid int) error {
	host, err := c.resolveParent(target)
	if err != nil {
		return err
	}
	if st, err := os.Lstat(host); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return fmt.Errorf("cannot overwrite directory %s with a file", target)
		}
		os.Remove(host)
	}
	if c.chmod != nil {
		perm = *c.chmod
	}
	f, err := os.OpenFile(host, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscallNoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("copy to %s: %w", target, err)
	}
	if _, err := io.Copy(f, bufio.NewReader(r)); err != nil {
		f.Close()
		return fmt.Errorf("copy to %s: %w", target, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Lchown(host, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(host, toUnixMode(perm)); err != nil {
		return err
	}
	return os.Chtimes(host, mtime, mtime)
}

// toUnixMode keeps the permission and special bits for os.Chmod.
func toUnixMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// rootMatch is a COPY --from source found in another image's root: its
// slash path there (the final component not followed) and the name it is
// copied under.
type rootMatch struct{ rel, name string }

// matchInRoot matches a COPY --from source inside another image's rootfs.
// Directories on the way resolve inside the root, never out of it.
func matchInRoot(root, src string) ([]rootMatch, error) {
	clean := path.Clean("/" + src)
	if !strings.ContainsAny(clean, "*?[") {
		if clean == "/" {
			return []rootMatch{{rel: ".", name: "."}}, nil
		}
		dir, err := securejoin.SecureJoin(root, path.Dir(clean))
		if err != nil {
			return nil, err
		}
		host := filepath.Join(dir, path.Base(clean))
		if _, err := os.Lstat(host); err != nil {
			return nil, fmt.Errorf("file not found in the source image: %s", src)
		}
		rel, _ := filepath.Rel(root, host)
		return []rootMatch{{rel: filepath.ToSlash(rel), name: path.Base(clean)}}, nil
	}
	matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(clean)))
	if err != nil {
		return nil, err
	}
	var out []rootMatch
	for _, m := range matches {
		rel, _ := filepath.Rel(root, m)
		out = append(out, rootMatch{rel: filepath.ToSlash(rel), name: filepath.Base(m)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no source files were specified")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// imageContext describes the matched paths of a COPY --from image as a
// Context (what is below them, and what a matched symlink points to), so
// they are checksummed and copied as context files are.
func imageContext(root string, matches []rootMatch) (*Context, error) {
	c := &Context{Dir: root, Files: map[string]fs.FileInfo{}, sums: map[string]string{}}
	walk := func(rel string) error {
		return filepath.WalkDir(filepath.Join(root, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(root, p)
			if r == "." {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			c.Files[filepath.ToSlash(r)] = info
			return nil
		})
	}
	for _, m := range matches {
		if err := walk(m.rel); err != nil {
			return nil, err
		}
		if info, ok := c.Files[m.rel]; ok && info.Mode()&fs.ModeSymlink != 0 {
			host, err := securejoin.SecureJoin(root, m.rel)
			if err != nil {
				return nil, err
			}
			if _, err := os.Lstat(host); err != nil {
				return nil, fmt.Errorf("file not found in the source image: %s points to a missing file", m.rel)
			}
			target, _ := filepath.Rel(root, host)
			if err := walk(filepath.ToSlash(target)); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// lookupOwner resolves --chown's user[:group] with the image's /etc/passwd
// and /etc/group, read as files, never by running code from the image.
func lookupOwner(rootfs, spec string) (int, int, error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	uid, gid := -1, -1
	if n, err := strconv.Atoi(user); err == nil {
		uid = n
	} else {
		entry, ok := findEntry(rootfs, "/etc/passwd", user)
		if !ok {
			return 0, 0, fmt.Errorf("unable to convert uid/gid chown string to host mapping: can't find uid for user %s: no such user: %s", user, user)
		}
		uid, _ = strconv.Atoi(entry[2])
		gid, _ = strconv.Atoi(entry[3])
	}
	if hasGroup {
		if n, err := strconv.Atoi(group); err == nil {
			gid = n
		} else {
			entry, ok := findEntry(rootfs, "/etc/group", group)
			if !ok {
				return 0, 0, fmt.Errorf("unable to convert uid/gid chown string to host mapping: can't find gid for group %s: no such group: %s", group, group)
			}
			gid, _ = strconv.Atoi(entry[2])
		}
	}
	if gid < 0 {
		gid = uid
	}
	return uid, gid, nil
}

func findEntry(rootfs, file, name string) ([]string, bool) {
	host, err := securejoin.SecureJoin(rootfs, file)
	if err != nil {
		return nil, false
	}
	f, err := os.Open(host)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 4 && fields[0] == name {
			return fields, true
		}
	}
	return nil, false
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// isArchive reports whether an ADD source is a tar archive (plain, gzip or
// zstd), which ADD extracts.
func isArchive(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	r, err := layer.Decompress(f)
	if err != nil {
		return false
	}
	defer r.Close()
	var hdr [512]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return false
	}
	return string(hdr[257:262]) == "ustar"
}

// download fetches an ADD URL into a temporary file.
func (b *Builder) download(ctx context.Context, raw, dest string) (copySource, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return copySource{}, "", fmt.Errorf("ADD %s: %w", raw, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return copySource{}, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return copySource{}, "", fmt.Errorf("ADD %s: %w (check the address, or download the file into the build context and COPY it)", raw, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return copySource{}, "", fmt.Errorf("ADD %s: server answered %s", raw, resp.Status)
	}
	tmp, err := b.store.TempDir("add-")
	if err != nil {
		return copySource{}, "", err
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == "" {
		return copySource{}, "", fmt.Errorf("cannot determine filename from url: %s", raw)
	}
	file := filepath.Join(tmp, "download")
	f, err := os.Create(file)
	if err != nil {
		return copySource{}, "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	f.Close()
	if err != nil {
		return copySource{}, "", fmt.Errorf("ADD %s: %w", raw, err)
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		os.Chtimes(file, lm, lm)
	}
	return copySource{tmpFile: file, name: name}, hex.EncodeToString(h.Sum(nil)), nil
}
