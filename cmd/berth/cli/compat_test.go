package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// dockerVerbs are the docker CLI 28's verbs: its top-level commands and
// the subcommands of the management commands Berth has or may have.
var dockerVerbs = strings.Fields(`
attach build builder checkpoint commit config container context cp create diff events exec
export history image images import info inspect kill load login logout logs manifest network
node pause plugin port ps pull push rename restart rm rmi run save search secret service stack
start stats stop swarm system tag top trust unpause update version volume wait`)

var dockerSubVerbs = map[string][]string{
	"builder":   {"build", "prune"},
	"container": {"attach", "commit", "cp", "create", "diff", "exec", "export", "inspect", "kill", "logs", "ls", "pause", "port", "prune", "rename", "restart", "rm", "run", "start", "stats", "stop", "top", "unpause", "update", "wait"},
	"image":     {"build", "history", "import", "inspect", "load", "ls", "prune", "pull", "push", "rm", "save", "tag"},
	"network":   {"connect", "create", "disconnect", "inspect", "ls", "prune", "rm"},
	"system":    {"df", "events", "info", "prune"},
	"volume":    {"create", "inspect", "ls", "prune", "rm", "update"},
}

type compatRow struct {
	line   int
	keys   []string
	state  string
	tests  []string
	docker bool // in the table of Docker's verbs
}

var (
	backticked = regexp.MustCompile("`([^`]+)`")
	txtarName  = regexp.MustCompile(`[a-z0-9_]+\.txtar`)
)

// readCompat parses the verb tables of docs/compat.md.
func readCompat(t *testing.T) []compatRow {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "docs", "compat.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []compatRow
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line
			continue
		}
		if !strings.HasPrefix(line, "| `") || !strings.HasSuffix(section, "verbs") {
			continue
		}
		// Cells split on "|", except the escaped "\|" inside a cell.
		cells := strings.Split(strings.Trim(strings.ReplaceAll(line, `\|`, "\x00"), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(cells[i], "\x00", "|"))
		}
		if len(cells) != 4 {
			t.Fatalf("compat.md:%d: want 4 cells, got %d: %s", n, len(cells), line)
		}
		row := compatRow{line: n, state: cells[1], tests: txtarName.FindAllString(cells[3], -1),
			docker: strings.Contains(section, "Docker's verbs")}
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			row.keys = append(row.keys, m[1])
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < 50 {
		t.Fatalf("compat.md has %d verb rows: the tables were not found", len(rows))
	}
	return rows
}

// registered resolves a verb ("image ls") to berth's command, or nil.
func registered(root *cobra.Command, key string) *cobra.Command {
	c, rest, err := root.Find(strings.Fields(key))
	if err != nil || len(rest) > 0 || c == root {
		return nil
	}
	return c
}

// TestCompatTable keeps docs/compat.md true: every row's testscripts exist,
// every verb berth registers is in a table, every Docker verb is in the
// first, and a row's state agrees with what berth registers.
func TestCompatTable(t *testing.T) {
	root := newRootCmd(&globalOptions{})
	rows := readCompat(t)
	covered := map[*cobra.Command]bool{}
	dockerKeys := map[string]bool{}
	for _, row := range rows {
		for _, test := range row.tests {
			if _, err := os.Stat(filepath.Join("..", "..", "..", "testscripts", test)); err != nil {
				t.Errorf("compat.md:%d names %s, which is not in testscripts/", row.line, test)
			}
		}
		for _, key := range row.keys {
			if row.docker {
				dockerKeys[key] = true
			}
			c := registered(root, key)
			switch row.state {
			case "works", "partial":
				if c == nil {
					t.Errorf("compat.md:%d says %q %s, but berth has no such verb", row.line, key, row.state)
				}
				if len(row.tests) == 0 {
					t.Errorf("compat.md:%d: %q %s, but the row names no testscript", row.line, key, row.state)
				}
			case "refused", "not yet":
				if c != nil {
					t.Errorf("compat.md:%d says %q is %s, but berth registers it: update the row", row.line, key, row.state)
				}
			default:
				t.Errorf("compat.md:%d: state %q is none of works, partial, refused, not yet", row.line, row.state)
			}
			if c != nil {
				covered[c] = true
			}
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if !covered[sub] {
				t.Errorf("%q is a berth verb missing from docs/compat.md", strings.TrimPrefix(sub.CommandPath(), "berth "))
			}
			walk(sub)
		}
	}
	walk(root)
	for _, v := range dockerVerbs {
		if !dockerKeys[v] {
			t.Errorf("docker %s is missing from docs/compat.md's table of Docker's verbs", v)
		}
		for _, sub := range dockerSubVerbs[v] {
			if !dockerKeys[v+" "+sub] {
				t.Errorf("docker %s %s is missing from docs/compat.md's table of Docker's verbs", v, sub)
			}
		}
	}
}
