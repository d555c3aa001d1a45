package lessons

import (
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
	"github.com/berthkit/berth/trace/view"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRunServerFlags(t *testing.T) {
	s, err := parseRun(strings.Fields("-d -p 6379:6379 --publish 127.0.0.1:8080:80 --network app --name redis myredis redis-server --protected-mode no"))
	require.NoError(t, err)
	assert.True(t, s.Detach)
	assert.Equal(t, []string{"6379:6379", "127.0.0.1:8080:80"}, s.Publish)
	assert.Equal(t, "app", s.Network)
	assert.Equal(t, "redis", s.Name)
	assert.Equal(t, "myredis", s.Image)
	assert.Equal(t, []string{"redis-server", "--protected-mode", "no"}, s.Cmd)

	for args, want := range map[string]string{
		"-d --rm busybox":              "-d goes on at once",
		"-d --stop-after 5s busybox":   "-d goes on at once",
		"--ready up busybox":           "--ready waits for a detached container's log: use it with -d",
		"-p":                           "-p needs a value",
		"--network":                    "--network needs a value",
		"--privileged busybox":         "unknown flag --privileged (lessons support --rm, -d, --name, -p, --network, --ready and --stop-after)",
		"-d -p 1:2 --network app":      "name the image to run",
		"--stop-after soon busybox sh": `--stop-after "soon": give a duration like 5s`,
	} {
		_, err := parseRun(strings.Fields(args))
		require.Error(t, err, args)
		assert.Contains(t, err.Error(), want, args)
	}
}

func TestParseRmAndNetwork(t *testing.T) {
	rm, err := parseRm([]string{"-f", "redis", "web"})
	require.NoError(t, err)
	assert.Equal(t, RmSpec{Force: true, Containers: []string{"redis", "web"}}, rm)
	_, err = parseRm([]string{"-f"})
	assert.EqualError(t, err, "write `rm [-f] CONTAINER...`")
	_, err = parseRm([]string{"-v", "redis"})
	assert.EqualError(t, err, "unknown flag -v (lessons support -f)")

	n, err := parseNetwork([]string{"create", "app"})
	require.NoError(t, err)
	assert.Equal(t, NetworkSpec{Op: "create", Name: "app"}, n)
	for _, bad := range [][]string{{"make", "app"}, {"create"}, {"rm", "--force"}, {"create", "a", "b"}} {
		_, err := parseNetwork(bad)
		assert.EqualError(t, err, "write `network create NAME` or `network rm NAME`", bad)
	}
}

// The command a lesson shows is one berth has: the values of -p and
// --network are not mistaken for the image, and --stop-after is the
// lesson's own.
func TestDisplayArgsServerRun(t *testing.T) {
	shown, own := displayArgs("run", []string{"-d", "-p", "6379:6379", "--ready", "Ready to accept connections", "--network", "app", "--name", "redis", "img", "redis-server"})
	assert.Equal(t, strings.Fields("-d -p 6379:6379 --network app --name redis img redis-server"), shown)
	assert.Equal(t, lessonFlags{Ready: "Ready to accept connections"}, own)
	shown, own = displayArgs("run", strings.Fields("--rm -p 80 --stop-after 5s img"))
	assert.Equal(t, strings.Fields("--rm -p 80 img"), shown)
	assert.Equal(t, "5s", own.StopAfter)
}

func TestPortPlaceholder(t *testing.T) {
	base, err := Profile("debian")
	require.NoError(t, err)
	out, err := (&vars{base: base, port: 40001}).expand("-p {{port}}:6379")
	require.NoError(t, err)
	assert.Equal(t, "-p 40001:6379", out)
	require.NoError(t, checkPlaceholders("{{ port }}"))
}

func TestExpectRunOutput(t *testing.T) {
	c, err := parseClaim(strings.Fields("run output hello from web"))
	require.NoError(t, err)
	assert.Equal(t, "hello from web", c.Value)
	_, err = parseClaim(strings.Fields("run exit 0 1"))
	assert.Error(t, err)

	m := view.NewModel([]trace.Event{
		{Type: trace.ContainerCreate, Container: &trace.ContainerInfo{ID: strings.Repeat("a", 64), Purpose: "run"}},
		{Type: trace.Output, Output: &trace.OutputInfo{Container: strings.Repeat("a", 64), Stream: "stdout", Text: "PO"}},
		{Type: trace.Output, Output: &trace.OutputInfo{Container: strings.Repeat("a", 64), Stream: "stdout", Text: "NG\r\n"}},
	})
	ok, _ := parseClaim([]string{"run", "output", "PONG"})
	res := ok.Check(m, "PONG")
	require.Len(t, res, 1)
	assert.True(t, res[0].OK, res[0].Says)
	res = ok.Check(m, "PING")
	assert.False(t, res[0].OK)
	assert.Equal(t, `container aaaaaaaaaaaa printed "PONG", not PING`, res[0].Says)
}
