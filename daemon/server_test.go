package daemon

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/stretchr/testify/require"

	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/internal/testenv"
	"github.com/berthkit/berth/trace"
)

// newTestServer serves a fresh engine over httptest.
func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{})
	require.NoError(t, err)
	srv := New(eng, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		require.NoError(t, srv.Shutdown(context.Background()))
		eng.Close()
	})
	return srv, hs
}

// withBusybox bootstraps busybox:latest into the server's store.
func withBusybox(t *testing.T, srv *Server) string {
	t.Helper()
	res, err := srv.eng.BootstrapBusybox(context.Background(), engine.BootstrapBusyboxOptions{})
	if errors.Is(err, engine.ErrNoBusybox) && !testenv.InCI() {
		t.Skip("needs busybox-static")
	}
	require.NoError(t, err)
	return res.Image.ID.String()
}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, data
}

func errorMessage(t *testing.T, data []byte) string {
	t.Helper()
	var er api.ErrorResponse
	require.NoError(t, json.Unmarshal(data, &er), string(data))
	return er.Message
}

func TestPingAnnouncesTheClassicBuilder(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	for _, method := range []string{"GET", "HEAD"} {
		resp, body := do(t, method, hs.URL+"/_ping", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "1", resp.Header.Get("Builder-Version"))
		require.Equal(t, api.APIVersion, resp.Header.Get("Api-Version"))
		require.Equal(t, "false", resp.Header.Get("Docker-Experimental"))
		require.Equal(t, "linux", resp.Header.Get("Ostype"))
		if method == "GET" {
			require.Equal(t, "OK", string(body))
		} else {
			require.Empty(t, body)
		}
	}
}

func TestVersionNegotiation(t *testing.T) {
	_, hs := newTestServer(t, Options{})
	resp, body := do(t, "GET", hs.URL+"/v1.50/version", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var v system.VersionResponse
	require.NoError(t, json.Unmarshal(body, &v))
	require.Equal(t, "1.50", v.APIVersion)
	require.Equal(t, "1.24", v.MinAPIVersion)
	require.Equal(t, "Berth", v.Platform.Name)

	resp, body = do(t, "GET", hs.URL+"/v1.99/version", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "client version 1.99 is too new. Maximum supported API version is 1.50", errorMessage(t, body))

	// Every version from 1.24 to 1.50 is served, and the ping says which
	// is newest.
	for _, v := range []string{"1.24", "1.40", "1.47", "1.50"} {
		resp, _ = do(t, "GET", hs.URL+"/v"+v+"/_ping", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, v)
		require.Equal(t, "1.50", resp.Header.Get("Api-Version"))
		require.Equal(t, "false", resp.Header.Get("Docker-Experimental"))
	}

	resp, body = do(t, "GET", hs.URL+"/v1.12/_ping", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, errorMessage(t, body), "client version 1.12 is too old. Minimum supported API version is 1.24")

	resp, _ = do(t, "GET", hs.URL+"/v1.24/_ping", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestErrorsAreDockers(t *testing.T) {
	_, hs := newTestServer(t, Options{MaxJSON: 64})
	cases := []struct {
		method, path, body string
		status             int
		message            string
	}{
		{"GET", "/images/nosuch/json", "", 404, "No such image: nosuch:latest"},
		{"GET", "/containers/nosuch/json", "", 404, "No such container: nosuch"},
		{"DELETE", "/containers/nosuch", "", 404, "No such container: nosuch"},
		{"GET", "/exec/nosuch/json", "", 404, "No such exec instance: nosuch"},
		{"GET", "/nothing/here", "", 404, "page not found"},
		{"DELETE", "/build", "", 405, "method not allowed"},
		{"POST", "/containers/create", "{not json", 400, "invalid JSON"},
		{"POST", "/containers/create", "{}", 400, "config cannot be empty in order to create a container"},
		{"POST", "/containers/create", `{"Image":"` + strings.Repeat("x", 100) + `"}`, 413, "request body larger than 64 bytes"},
		{"POST", "/images/busybox/tag", "", 400, "repository name must have at least one component"},
		{"GET", "/images/json?filters=" + `{"bogus":{"x":true}}`, "", 400, "invalid filter 'bogus'"},
	}
	for _, c := range cases {
		resp, body := do(t, c.method, hs.URL+c.path, strings.NewReader(c.body))
		require.Equal(t, c.status, resp.StatusCode, "%s %s: %s", c.method, c.path, body)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		require.Contains(t, errorMessage(t, body), c.message, "%s %s", c.method, c.path)
	}
}

func TestImagesListTagHistoryDelete(t *testing.T) {
	srv, hs := newTestServer(t, Options{})
	id := withBusybox(t, srv)

	resp, body := do(t, "POST", hs.URL+"/v1.47/images/busybox/tag?repo=rommelrico/busybox&tag=1.0", nil)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(body))

	resp, body = do(t, "GET", hs.URL+"/images/json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var list []api.ImageSummary
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	require.Equal(t, id, list[0].ID)
	require.ElementsMatch(t, []string{"busybox:latest", "rommelrico/busybox:1.0"}, list[0].RepoTags)
	require.NotZero(t, list[0].Size)
	require.NotEmpty(t, list[0].BerthCreated)

	// docker images REPOSITORY: the old filter parameter.
	_, body = do(t, "GET", hs.URL+"/images/json?filter=rommelrico/busybox", nil)
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list, 1)
	require.Equal(t, []string{"rommelrico/busybox:1.0"}, list[0].RepoTags)

	resp, body = do(t, "GET", hs.URL+"/images/rommelrico/busybox:1.0/json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var inspect struct{ Id string }
	require.NoError(t, json.Unmarshal(body, &inspect))
	require.Equal(t, id, inspect.Id)

	_, body = do(t, "GET", hs.URL+"/images/busybox/history", nil)
	var history []image.HistoryResponseItem
	require.NoError(t, json.Unmarshal(body, &history))
	require.NotEmpty(t, history)
	require.Equal(t, id, history[0].ID)

	resp, body = do(t, "DELETE", hs.URL+"/images/rommelrico/busybox:1.0", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var deleted []image.DeleteResponse
	require.NoError(t, json.Unmarshal(body, &deleted))
	require.Equal(t, []image.DeleteResponse{{Untagged: "rommelrico/busybox:1.0"}}, deleted)

	resp, body = do(t, "DELETE", hs.URL+"/images/rommelrico/busybox:1.0", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))
}

func TestSaveThenLoad(t *testing.T) {
	srv, hs := newTestServer(t, Options{})
	id := withBusybox(t, srv)

	resp, archive := do(t, "GET", hs.URL+"/images/get?names=busybox", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/x-tar", resp.Header.Get("Content-Type"))
	names := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names[hdr.Name] = true
	}
	require.True(t, names["manifest.json"] && names["index.json"], "%v", names)

	resp, body := do(t, "GET", hs.URL+"/images/nosuch/get", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, string(body))

	resp, _ = do(t, "DELETE", hs.URL+"/images/busybox", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body = do(t, "POST", hs.URL+"/images/load?quiet=1", bytes.NewReader(archive))
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.JSONEq(t, `{"stream":"Loaded image: busybox:latest\n"}`, strings.TrimSpace(string(body)))
	img, err := srv.eng.Store.Image("busybox")
	require.NoError(t, err)
	require.Equal(t, id, img.ID.String())

	// An archive larger than the daemon takes is refused whole.
	srv.opts.MaxLoad = 1024
	resp, body = do(t, "POST", hs.URL+"/images/load", bytes.NewReader(archive))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.Contains(t, errorMessage(t, body), "--max-load")
}

// contextTar is a build context with the given files.
func contextTar(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func TestBuildRefusesBadRequests(t *testing.T) {
	srv, hs := newTestServer(t, Options{MaxBuildContext: 4096})
	small := contextTar(t, map[string]string{"Dockerfile": "FROM scratch\n"})
	big := contextTar(t, map[string]string{"Dockerfile": "FROM scratch\n", "big": strings.Repeat("x", 8192)})
	cases := []struct {
		query   string
		body    []byte
		status  int
		message string
	}{
		{"remote=https://example.invalid/ctx.git", small, 400, "remote build contexts"},
		{"version=2", small, 400, "BuildKit is not supported"},
		{"dockerfile=../Dockerfile", small, 400, "must be within the build context"},
		{"dockerfile=/etc/passwd", small, 400, "must be within the build context"},
		{"networkmode=container:x", small, 400, `network mode "container:x" is not supported`},
		{"buildargs=notjson", small, 400, "invalid buildargs"},
		{"", big, 413, "larger than this daemon accepts"},
		{"", []byte("this is no tar archive at all, but it is long enough to be read as a header block" + strings.Repeat(".", 512)), 400, "unpack the build context"},
	}
	for _, c := range cases {
		resp, body := do(t, "POST", hs.URL+"/build?"+c.query, bytes.NewReader(c.body))
		require.Equal(t, c.status, resp.StatusCode, "%s: %s", c.query, body)
		require.Contains(t, errorMessage(t, body), c.message, c.query)
	}
	// Nothing was left behind in the store's tmp/.
	entries, err := readDirNames(srv.eng.Store.TmpDir())
	require.NoError(t, err)
	require.Empty(t, entries)
}

func TestTraceFollowStreamsEveryClientsEvents(t *testing.T) {
	srv, hs := newTestServer(t, Options{})
	withBusybox(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", hs.URL+"/v1.47"+api.TracePath, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/x-ndjson", resp.Header.Get("Content-Type"))

	// Another client's action, after the follower is attached.
	r, body := do(t, "POST", hs.URL+"/images/busybox/tag?repo=course/busybox&tag=1", nil)
	require.Equal(t, http.StatusCreated, r.StatusCode, string(body))

	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan(), "no event: %v", sc.Err())
	var ev trace.Event
	require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
	require.Equal(t, trace.Tag, ev.Type)
	require.Equal(t, "course/busybox:1", ev.Tag.Ref)
	require.Equal(t, trace.SchemaVersion, ev.Version)
}

// A prune takes one boolean filter; any other is refused with the
// prune's own words.
func TestPruneFilter(t *testing.T) {
	const images, volumes = "invalid filter '%s': berth prunes by dangling only", "invalid filter %q: berth's volume prune takes all=true only"
	cases := []struct {
		filters, key string
		want         bool
		refusal      string
		found        bool
		err          string
	}{
		{"", "dangling", false, images, false, ""},
		{`{"dangling":{"true":true}}`, "dangling", false, images, false, ""},
		{`{"dangling":{"false":true}}`, "dangling", false, images, true, ""},
		{`{"dangling":["0"]}`, "dangling", false, images, true, ""},
		{`{"dangling":{"true":true,"false":true}}`, "dangling", false, images, true, ""},
		{`{"dangling":{"false":false}}`, "dangling", false, images, false, ""},
		{`{"label":{"a=b":true}}`, "dangling", false, images, false, "invalid filter 'label=a=b': berth prunes by dangling only"},
		{`{"dangling":{"maybe":true}}`, "dangling", false, images, false, "invalid filter 'dangling=maybe': berth prunes by dangling only"},
		{`{"all":{"1":true}}`, "all", true, volumes, true, ""},
		{`{"all":{"false":true}}`, "all", true, volumes, false, ""},
		{`{"all":{"yes":true}}`, "all", true, volumes, false, `invalid filter "all=yes": berth's volume prune takes all=true only`},
		{`{"dangling":{"true":true}}`, "all", true, volumes, false, `invalid filter "dangling=true": berth's volume prune takes all=true only`},
		{`not json`, "all", true, volumes, false, "invalid filter"},
	}
	for _, c := range cases {
		hr := httptest.NewRequest("POST", "/prune?filters="+url.QueryEscape(c.filters), nil)
		found, err := pruneFilter(&request{Request: hr}, c.key, c.want, c.refusal)
		if c.err != "" {
			require.ErrorContains(t, err, c.err, c.filters)
			require.Equal(t, http.StatusBadRequest, statusOf(err), c.filters)
			continue
		}
		require.NoError(t, err, c.filters)
		require.Equal(t, c.found, found, c.filters)
	}
}
