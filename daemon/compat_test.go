package daemon

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dockerEndpoints are Docker Engine API endpoints every row set of
// docs/compat.md must cover (the ones a docker CLI 28 uses).
var dockerEndpoints = []string{
	"GET /_ping", "GET /version", "GET /info", "GET /events", "GET /system/df", "POST /auth",
	"POST /build", "POST /build/prune", "POST /session", "POST /commit",
	"GET /images/json", "POST /images/create", "POST /images/load", "GET /images/get", "POST /images/prune",
	"GET /images/search", "GET /images/{name}/json", "GET /images/{name}/history", "POST /images/{name}/tag",
	"POST /images/{name}/push", "GET /images/{name}/get", "DELETE /images/{name}",
	"GET /containers/json", "POST /containers/create", "POST /containers/prune", "GET /containers/{id}/json",
	"GET /containers/{id}/top", "GET /containers/{id}/logs", "GET /containers/{id}/changes",
	"GET /containers/{id}/export", "GET /containers/{id}/stats", "POST /containers/{id}/resize",
	"POST /containers/{id}/start", "POST /containers/{id}/stop", "POST /containers/{id}/restart",
	"POST /containers/{id}/kill", "POST /containers/{id}/update", "POST /containers/{id}/rename",
	"POST /containers/{id}/pause", "POST /containers/{id}/unpause", "POST /containers/{id}/attach",
	"POST /containers/{id}/wait", "DELETE /containers/{id}", "GET /containers/{id}/archive",
	"PUT /containers/{id}/archive", "POST /containers/{id}/exec",
	"POST /exec/{id}/start", "POST /exec/{id}/resize", "GET /exec/{id}/json",
	"GET /volumes", "POST /volumes/create", "GET /volumes/{name}", "PUT /volumes/{name}",
	"DELETE /volumes/{name}", "POST /volumes/prune",
	"GET /networks", "POST /networks/create", "GET /networks/{id}", "DELETE /networks/{id}",
	"POST /networks/{id}/connect", "POST /networks/{id}/disconnect", "POST /networks/prune",
	"GET /distribution/{name}/json", "GET /plugins", "GET /swarm",
}

var (
	compatEndpoint = regexp.MustCompile("`((?:GET|HEAD|POST|PUT|DELETE) /[^`]*)`")
	compatTest     = regexp.MustCompile(`[a-z0-9_]+(?:\.txtar|_test\.go)`)
	pathParam      = regexp.MustCompile(`\{[a-z]+\}`)
)

// TestCompatEndpoints keeps docs/compat.md's table of Engine API endpoints
// true to the router: works, partial and routed rows are answered,
// not yet and refused rows are not, and every named test exists.
func TestCompatEndpoints(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "docs", "compat.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	inTable := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inTable = strings.Contains(line, "Engine API")
			continue
		}
		if !inTable || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("compat.md:%d: want 4 cells: %s", n, line)
		}
		state := strings.TrimSpace(cells[1])
		tests := compatTest.FindAllString(cells[3], -1)
		for _, name := range tests {
			where := filepath.Join("..", "testscripts", name)
			if strings.HasSuffix(name, "_test.go") {
				where = name
			}
			if _, err := os.Stat(where); err != nil {
				t.Errorf("compat.md:%d names %s, which does not exist", n, name)
			}
		}
		for _, m := range compatEndpoint.FindAllStringSubmatch(cells[0], -1) {
			seen[m[1]] = true
			method, path, _ := strings.Cut(m[1], " ")
			fn, _, _ := matchRoute(method, pathParam.ReplaceAllString(path, "x"))
			switch state {
			case "works", "partial":
				if fn == nil {
					t.Errorf("compat.md:%d says %s %s, but the router does not answer it", n, m[1], state)
				}
				if len(tests) == 0 {
					t.Errorf("compat.md:%d: %s %s names no test", n, m[1], state)
				}
			case "routed":
				if fn == nil {
					t.Errorf("compat.md:%d says %s is routed, but the router does not answer it", n, m[1])
				}
			case "not yet", "refused":
				if fn != nil {
					t.Errorf("compat.md:%d says %s is %s, but the router answers it: update the row", n, m[1], state)
				}
			default:
				t.Errorf("compat.md:%d: state %q is none of works, partial, routed, refused, not yet", n, state)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range dockerEndpoints {
		if !seen[e] {
			t.Errorf("%s is missing from docs/compat.md's Engine API table", e)
		}
	}
}
