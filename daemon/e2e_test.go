package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/stretchr/testify/require"

	"github.com/berthkit/berth/daemon"
	"github.com/berthkit/berth/daemon/api"
	"github.com/berthkit/berth/daemon/client"
	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/internal/testenv"
)

// realDaemon serves a fresh engine with busybox:latest, for tests that
// build and run.
func realDaemon(t *testing.T) (*engine.Engine, *client.Client) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireOverlay(t)
	eng, err := engine.Open(t.TempDir(), engine.Options{})
	require.NoError(t, err)
	if _, err := eng.BootstrapBusybox(context.Background(), engine.BootstrapBusyboxOptions{}); err != nil {
		if errors.Is(err, engine.ErrNoBusybox) && !testenv.InCI() {
			t.Skip("needs busybox-static")
		}
		require.NoError(t, err)
	}
	srv := daemon.New(eng, daemon.Options{StopTimeout: -1})
	hs := httptest.NewServer(srv)
	c, err := client.New("tcp://"+hs.Listener.Addr().String(), client.Options{})
	require.NoError(t, err)
	t.Cleanup(func() {
		c.Close()
		hs.Close()
		require.NoError(t, srv.Shutdown(context.Background()))
		eng.Close()
	})
	return eng, c
}

// build runs a build and returns its console text and image ID.
func build(ctx context.Context, t *testing.T, c *client.Client, dockerfile string, tags ...string) (string, string, error) {
	body, err := c.Build(ctx, bytes.NewReader(daemon.ContextTar(t, map[string]string{"Dockerfile": dockerfile, "conf": "port 6379\n"})), client.BuildOptions{Tags: tags, Remove: true})
	if err != nil {
		return "", "", err
	}
	defer body.Close()
	var text strings.Builder
	var id string
	err = client.ReadStream(body, func(m api.Message) error {
		text.WriteString(m.Stream)
		if m.Aux != nil {
			var aux struct{ ID string }
			if err := json.Unmarshal(*m.Aux, &aux); err != nil {
				return err
			}
			id = aux.ID
		}
		return nil
	})
	return text.String(), id, err
}

func TestBuildStreamsTheClassicConsole(t *testing.T) {
	eng, c := realDaemon(t)
	text, id, err := build(context.Background(), t, c, "FROM busybox\nCOPY conf /etc/redis.conf\nRUN cat /etc/redis.conf\n", "rommelrico/redis:latest")
	require.NoError(t, err)
	require.NotContains(t, text, "Sending build context", "the client prints that line")
	require.Contains(t, text, "Step 1/3 : FROM busybox\n")
	require.Contains(t, text, "Step 3/3 : RUN cat /etc/redis.conf\n ---> Running in ")
	require.Contains(t, text, "\nport 6379\n")
	require.Contains(t, text, "Successfully tagged rommelrico/redis:latest\n")
	img, err := eng.Store.Image("rommelrico/redis:latest")
	require.NoError(t, err)
	require.Equal(t, img.ID.String(), id)

	_, _, err = build(context.Background(), t, c, "FROM busybox\nRUN exit 3\n")
	var se *client.StreamError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 3, se.Code)
	require.Equal(t, 2, se.Step)
	require.Equal(t, "The command '/bin/sh -c exit 3' returned a non-zero code: 3", se.Message)
	list, err := eng.ListContainers(context.Background(), true)
	require.NoError(t, err)
	require.Empty(t, list, "intermediate containers are removed")
}

func TestConcurrentBuildsKeepTheirOwnOutput(t *testing.T) {
	_, c := realDaemon(t)
	var wg sync.WaitGroup
	texts := make([]string, 2)
	errs := make([]error, 2)
	for i, marker := range []string{"alpha", "omega"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			df := "FROM busybox\nRUN for i in 1 2 3 4; do echo " + marker + "-$i; sleep 0.05; done\nLABEL which=" + marker + "\n"
			texts[i], _, errs[i] = build(context.Background(), t, c, df, marker)
		}()
	}
	wg.Wait()
	for i, marker := range []string{"alpha", "omega"} {
		require.NoError(t, errs[i])
		other := map[string]string{"alpha": "omega", "omega": "alpha"}[marker]
		require.Equal(t, 4, strings.Count(texts[i], "\n"+marker+"-"), texts[i])
		require.NotContains(t, texts[i], other, texts[i])
		require.Contains(t, texts[i], "Successfully tagged "+marker+":latest\n")
	}
}

func TestDisconnectCancelsTheBuildAndCleansUp(t *testing.T) {
	eng, c := realDaemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body, err := c.Build(ctx, bytes.NewReader(daemon.ContextTar(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo started && sleep 600\n"})), client.BuildOptions{Tags: []string{"slow"}, Remove: true})
	require.NoError(t, err)
	err = client.ReadStream(body, func(m api.Message) error {
		if strings.Contains(m.Stream, "started") {
			return errors.New("seen")
		}
		return nil
	})
	require.EqualError(t, err, "seen")
	cancel() // the client goes away mid-RUN
	body.Close()

	// The daemon kills the step's container, removes it and the context.
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := eng.ListContainers(context.Background(), true)
		require.NoError(t, err)
		tmp, err := os.ReadDir(eng.Store.TmpDir())
		require.NoError(t, err)
		if len(list) == 0 && len(tmp) == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "left behind: %d containers, %d tmp entries", len(list), len(tmp))
		time.Sleep(20 * time.Millisecond)
	}
	_, err = eng.Store.Image("slow")
	require.Error(t, err, "the build did not finish")
}

func TestRunAttachedThenRemoved(t *testing.T) {
	eng, c := realDaemon(t)
	ctx := context.Background()
	req := &container.CreateRequest{
		Config:     &container.Config{Image: "busybox", Cmd: []string{"sh", "-c", "echo to-out; echo to-err >&2; exit 3"}},
		HostConfig: &container.HostConfig{AutoRemove: true},
	}
	created, err := c.CreateContainer(ctx, "attached", req)
	require.NoError(t, err)
	conn, rd, err := c.Attach(ctx, created.ID, false, true, true)
	require.NoError(t, err)
	defer conn.Close()
	waitC, err := c.Wait(ctx, created.ID, "removed")
	require.NoError(t, err)
	require.NoError(t, c.StartContainer(ctx, created.ID))
	var out, errOut bytes.Buffer
	require.NoError(t, client.Demux(&out, &errOut, rd))
	require.Equal(t, "to-out\n", out.String())
	require.Equal(t, "to-err\n", errOut.String())
	res := <-waitC
	require.NoError(t, res.Err)
	require.Equal(t, 3, res.Code)
	_, err = eng.Container(ctx, created.ID)
	require.Error(t, err, "--rm removed it")

	// A command that cannot start: the exit code Docker's CLI uses, and
	// the --rm container is gone too.
	req.Config.Cmd = []string{"nosuchcommand"}
	created, err = c.CreateContainer(ctx, "", req)
	require.NoError(t, err)
	waitC, err = c.Wait(ctx, created.ID, "removed")
	require.NoError(t, err)
	err = c.StartContainer(ctx, created.ID)
	var ce *client.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, 127, ce.ExitCode)
	require.Contains(t, ce.Message, `exec: "nosuchcommand": executable file not found in $PATH`)
	require.Equal(t, 127, (<-waitC).Code)
	list, err := eng.ListContainers(ctx, true)
	require.NoError(t, err)
	require.Empty(t, list)
}
