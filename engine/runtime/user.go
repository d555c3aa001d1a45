package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ExecUser is a resolved user: who the process runs as.
type ExecUser struct {
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups
	Home   string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members string // comma-separated, as in the file
}

// hasMember reports whether name is one of the group's members.
func (g *groupEntry) hasMember(name string) bool {
	for rest := g.members; rest != ""; {
		var m string
		m, rest, _ = strings.Cut(rest, ",")
		if m == name {
			return true
		}
	}
	return false
}

// ResolveUser resolves a Docker user spec ("", "name", "uid", "name:group",
// "uid:gid") against the passwd and group files under root, parsing them
// in Go: nothing from the container is ever executed to answer. Errors use
// runc's wording ("unable to find user app: no matching entries in passwd
// file").
func ResolveUser(root, spec string, additionalGroups []string) (*ExecUser, error) {
	passwd, err := readPasswd(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return nil, err
	}
	groups, err := readGroup(filepath.Join(root, "etc/group"))
	if err != nil {
		return nil, err
	}
	userArg, groupArg, hasGroup := strings.Cut(spec, ":")
	if userArg == "" {
		userArg = "0"
	}

	u := &ExecUser{Home: "/"}
	var name string
	if n, isNum := parseID(userArg); isNum {
		u.UID = n
		for _, p := range passwd {
			if p.uid == n {
				name, u.GID, u.Home = p.name, p.gid, p.home
				break
			}
		}
	} else {
		found := false
		for _, p := range passwd {
			if p.name == userArg {
				name, u.UID, u.GID, u.Home, found = p.name, p.uid, p.gid, p.home, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
		}
	}
	var member []uint32
	if hasGroup && groupArg != "" {
		gid, err := lookupGroup(groups, groupArg)
		if err != nil {
			return nil, err
		}
		u.GID = gid
	} else if name != "" {
		// Supplementary groups come from the group file only when the
		// user did not pick a group, as in runc.
		for i := range groups {
			if groups[i].hasMember(name) {
				member = append(member, groups[i].gid)
			}
		}
	}
	// Docker puts the primary group first in the supplementary list.
	u.Groups = []uint32{u.GID}
	add := func(gid uint32) {
		for _, have := range u.Groups {
			if have == gid {
				return
			}
		}
		u.Groups = append(u.Groups, gid)
	}
	for _, gid := range member {
		add(gid)
	}
	for _, g := range additionalGroups {
		gid, err := lookupGroup(groups, g)
		if err != nil {
			return nil, err
		}
		add(gid)
	}
	if u.Home == "" {
		u.Home = "/"
	}
	return u, nil
}

func lookupGroup(groups []groupEntry, arg string) (uint32, error) {
	if n, isNum := parseID(arg); isNum {
		return n, nil
	}
	for _, g := range groups {
		if g.name == arg {
			return g.gid, nil
		}
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", arg)
}

// parseID parses a numeric uid or gid; a number too large for one is not
// numeric, so it is looked up as a name and reported as unknown.
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > 1<<31-1 {
		return 0, false
	}
	return uint32(n), true
}

// readPasswd parses name:password:uid:gid:gecos:home:shell lines. A
// missing file is an empty one.
func readPasswd(path string) ([]passwdEntry, error) {
	var out []passwdEntry
	err := scanColon(path, func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if !ok1 || !ok2 {
			return
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid}
		if len(f) > 5 {
			e.home = f[5]
		}
		if out == nil {
			out = make([]passwdEntry, 0, 32) // an image's file fits, in one allocation
		}
		out = append(out, e)
	})
	return out, err
}

// readGroup parses name:password:gid:member,member lines.
func readGroup(path string) ([]groupEntry, error) {
	var out []groupEntry
	err := scanColon(path, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		e := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 {
			e.members = f[3]
		}
		if out == nil {
			out = make([]groupEntry, 0, 48)
		}
		out = append(out, e)
	})
	return out, err
}

// Limits on a container's passwd and group files, which are untrusted
// input: at most maxEtcFile bytes are read, and a longer line than
// maxEtcLine is an error (bufio.ErrTooLong), as bufio.Scanner had it.
const (
	maxEtcFile = 16 << 20
	maxEtcLine = 1 << 20
)

// maxColonFields is how many fields scanColon splits a line into: the
// seventh of passwd is the last any caller reads, and the last field
// holds the rest of a longer line.
const maxColonFields = 8

// scanColon calls fn with the colon-separated fields of each line of path
// that is neither empty nor a comment (at most maxColonFields, the last
// holding the rest of the line). fn must not keep the slice, which is
// reused from line to line: the container's init parses passwd and group
// on every start, and a slice per line was an allocation per line.
func scanColon(path string, fn func([]string)) error {
	data, err := readEtcFile(path, maxEtcFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("read %s: %w", path, err)
	}
	fields := make([]string, 0, maxColonFields)
	for len(data) > 0 {
		line, rest, _ := strings.Cut(data, "\n")
		data = rest
		if len(line) > maxEtcLine {
			return bufio.ErrTooLong
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(splitColon(line, fields))
	}
	return nil
}

// splitColon splits line at colons into fields[:0], as strings.SplitN
// with cap(fields) does.
func splitColon(line string, fields []string) []string {
	fields = fields[:0]
	for len(fields) < cap(fields)-1 {
		f, rest, ok := strings.Cut(line, ":")
		if !ok {
			break
		}
		fields = append(fields, f)
		line = rest
	}
	return append(fields, line)
}
