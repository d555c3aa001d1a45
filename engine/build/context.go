package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Context is the build context: the files COPY and ADD may use, after
// .dockerignore, and the size Docker would send to the daemon.
type Context struct {
	Dir string
	// Files maps slash-separated paths relative to Dir to their info, for
	// every file, directory and symlink that .dockerignore does not exclude.
	Files map[string]fs.FileInfo
	// TarSize is the size of the context as a tar stream, what "Sending
	// build context to Berth engine  2.048kB" reports.
	TarSize int64

	sums    map[string]string // path → content checksum, computed on demand
	copyBuf []byte            // one read buffer for every checksum
}

// LoadContext walks dir (empty: no context) and applies .dockerignore.
// Files named in exclude (absolute, or relative to the working directory)
// are left out too when they lie inside dir.
func LoadContext(dir, dockerfile string, exclude ...string) (*Context, error) {
	c := &Context{Dir: dir, Files: map[string]fs.FileInfo{}, sums: map[string]string{}}
	if dir == "" {
		c.TarSize = 1024 // an empty tar: its end-of-archive blocks
		return c, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("unable to prepare context: path %q not found", dir)
		}
		return nil, fmt.Errorf("unable to prepare context: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("unable to prepare context: context must be a directory: %s", dir)
	}
	var matcher *patternmatcher.PatternMatcher
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("error reading .dockerignore: %w", err)
		}
		matcher, err = patternmatcher.New(patterns)
		if err != nil {
			return nil, fmt.Errorf("error reading .dockerignore: %w", err)
		}
	}
	always := map[string]bool{".dockerignore": true}
	if !filepath.IsAbs(dockerfile) {
		always[filepath.ToSlash(filepath.Clean(dockerfile))] = true
	}
	skip := excludedPaths(dir, exclude)
	var size int64
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("unable to prepare context: %w", err)
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if skip[rel] && !d.IsDir() {
			return nil
		}
		if matcher != nil && !always[rel] {
			excluded, err := matcher.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			if excluded {
				if d.IsDir() && !matcher.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		c.Files[rel] = info
		size += tarEntrySize(rel, info)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.TarSize = size + 1024
	return c, nil
}

// excludedPaths maps the files of exclude that lie inside dir to their
// slash-separated context paths.
func excludedPaths(dir string, exclude []string) map[string]bool {
	skip := map[string]bool{}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return skip
	}
	for _, p := range exclude {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(absDir, abs)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		skip[filepath.ToSlash(rel)] = true
	}
	return skip
}

// tarEntrySize is the bytes an entry takes in a tar stream: a header block,
// a PAX header for long names, and the content rounded up to 512.
func tarEntrySize(name string, info fs.FileInfo) int64 {
	if info.IsDir() {
		name += "/"
	}
	n := int64(512)
	if len(name) > 100 {
		n += 1024
	}
	if info.Mode().IsRegular() {
		n += (info.Size() + 511) / 512 * 512
	}
	return n
}

// Match returns the context paths a COPY source names: the path itself, or
// every top-level match of a wildcard pattern. Paths that climb out of the
// context are refused as Docker does.
func (c *Context) Match(src string) ([]string, error) {
	clean := path.Clean("/" + filepath.ToSlash(src))[1:]
	if strings.HasPrefix(path.Clean(filepath.ToSlash(src)), "../") || path.Clean(filepath.ToSlash(src)) == ".." {
		return nil, fmt.Errorf("forbidden path outside the build context: %s ()", src)
	}
	if clean == "" || clean == "." {
		return []string{"."}, nil
	}
	if !strings.ContainsAny(clean, "*?[") {
		if _, ok := c.Files[clean]; ok {
			return []string{clean}, nil
		}
		// A directory on the way may be a symlink: follow it inside the
		// context, as Docker (remotecontext.FullPath) does.
		if host, err := securejoin.SecureJoin(c.Dir, clean); err == nil {
			if rel, err := filepath.Rel(c.Dir, host); err == nil {
				if _, ok := c.Files[filepath.ToSlash(rel)]; ok {
					return []string{filepath.ToSlash(rel)}, nil
				}
			}
		}
		return nil, fmt.Errorf("file not found in build context or excluded by .dockerignore: stat %s: file does not exist", src)
	}
	var out []string
	for p := range c.Files {
		ok, err := path.Match(clean, p)
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", src, err)
		}
		if ok {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no source files were specified")
	}
	sort.Strings(out)
	return out, nil
}

// IsDir reports whether the context path is a directory ("." is the root).
func (c *Context) IsDir(rel string) bool {
	if rel == "." {
		return true
	}
	info, ok := c.Files[rel]
	return ok && info.IsDir()
}

// Below lists the context paths under dir (dir itself excluded), sorted.
func (c *Context) Below(dir string) []string {
	var out []string
	prefix := dir + "/"
	for p := range c.Files {
		if dir == "." || strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Checksum returns the content checksum of a context path: for a file its
// bytes and permission bits, for a symlink its target, for a directory the
// names and checksums of everything below. Modification times never count,
// so `touch` does not bust the cache; changed content does.
func (c *Context) Checksum(rel string) (string, error) {
	if sum, ok := c.sums[rel]; ok {
		return sum, nil
	}
	h := sha256.New()
	if c.IsDir(rel) {
		for _, p := range c.Below(rel) {
			info := c.Files[p]
			if info.IsDir() {
				fmt.Fprintf(h, "d %s %o\n", relTo(rel, p), info.Mode().Perm())
				continue
			}
			sum, err := c.Checksum(p)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "f %s %s\n", relTo(rel, p), sum)
		}
	} else {
		info := c.Files[rel]
		full := filepath.Join(c.Dir, filepath.FromSlash(rel))
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "link %s", target)
		default:
			f, err := os.Open(full)
			if err != nil {
				return "", fmt.Errorf("read context file %s: %w", rel, err)
			}
			fmt.Fprintf(h, "file %s\n", strconv.FormatUint(uint64(info.Mode().Perm()), 8))
			if c.copyBuf == nil {
				c.copyBuf = make([]byte, 32<<10)
			}
			_, err = io.CopyBuffer(h, f, c.copyBuf)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("read context file %s: %w", rel, err)
			}
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	c.sums[rel] = sum
	return sum, nil
}

func relTo(dir, p string) string {
	if dir == "." {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}
