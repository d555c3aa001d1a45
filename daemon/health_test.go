package daemon

import (
	"testing"
	"time"

	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/stretchr/testify/require"
)

func TestProbeOf(t *testing.T) {
	require.Nil(t, probeOf(nil))
	require.Nil(t, probeOf(&store.HealthConfig{Test: []string{"NONE"}}))
	require.Nil(t, probeOf(&store.HealthConfig{Test: []string{"CMD"}}))
	require.Nil(t, probeOf(&store.HealthConfig{Test: []string{"CMD-SHELL"}}))
	p := probeOf(&store.HealthConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}})
	require.Equal(t, []string{"/bin/sh", "-c", "curl -f localhost"}, p.cmd)
	require.Equal(t, defaultHealthInterval, p.interval)
	require.Equal(t, defaultHealthTimeout, p.timeout)
	require.Equal(t, defaultHealthRetries, p.retries)
	p = probeOf(&store.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Timeout: 2 * time.Second, Retries: 5, StartPeriod: time.Minute})
	require.Equal(t, healthProbe{cmd: []string{"true"}, interval: time.Second, timeout: 2 * time.Second, retries: 5, startPeriod: time.Minute}, *p)
}

// Retries failures make a container unhealthy, one success healthy; a
// failure in the start period does not count; the log keeps the last 5.
func TestRecordProbe(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	id := "c0ffee"
	s.setHealth(id, &container.Health{Status: container.Starting})
	p := &healthProbe{retries: 2}
	fail := &container.HealthcheckResult{ExitCode: 1}
	ok := &container.HealthcheckResult{ExitCode: 0}
	s.recordProbe(id, p, fail, true)
	require.Equal(t, container.Starting, s.Health(id).Status)
	require.Equal(t, 0, s.Health(id).FailingStreak)
	s.recordProbe(id, p, fail, false)
	require.Equal(t, container.Starting, s.Health(id).Status)
	s.recordProbe(id, p, fail, false)
	require.Equal(t, container.Unhealthy, s.Health(id).Status)
	require.Equal(t, 2, s.Health(id).FailingStreak)
	s.recordProbe(id, p, ok, false)
	require.Equal(t, container.Healthy, s.Health(id).Status)
	require.Equal(t, 0, s.Health(id).FailingStreak)
	for i := 0; i < 7; i++ {
		s.recordProbe(id, p, ok, false)
	}
	require.Len(t, s.Health(id).Log, healthLogKeep)
	require.Nil(t, s.Health("other"))
	// The status changes were events.
	var actions []string
	for _, m := range s.events.log {
		actions = append(actions, string(m.Action))
	}
	require.Equal(t, []string{"health_status: unhealthy", "health_status: healthy"}, actions)
}

func TestHealthFromRequest(t *testing.T) {
	hc, err := healthFromRequest(nil)
	require.NoError(t, err)
	require.Nil(t, hc)
	hc, err = healthFromRequest(&container.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: time.Second, Retries: 2})
	require.NoError(t, err)
	require.Equal(t, &store.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: time.Second, Retries: 2}, hc)
	_, err = healthFromRequest(&container.HealthConfig{Interval: time.Microsecond})
	require.EqualError(t, err, "Interval in Healthcheck cannot be less than 1ms")
	_, err = healthFromRequest(&container.HealthConfig{Retries: -1})
	require.EqualError(t, err, "Retries in Healthcheck cannot be negative")
	_, err = healthFromRequest(&container.HealthConfig{Test: []string{"SHELL", "x"}})
	require.ErrorContains(t, err, "unknown health check type")
}

// The container's fields are laid over the image's; NONE turns it off.
func TestMergeHealth(t *testing.T) {
	img := &store.HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Minute, Timeout: time.Second, Retries: 4}
	require.Equal(t, img, mergeHealth(img, nil))
	ctr := &store.HealthConfig{Interval: time.Second}
	require.Equal(t, &store.HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Second, Timeout: time.Second, Retries: 4}, mergeHealth(img, ctr))
	require.Nil(t, probeOf(mergeHealth(img, &store.HealthConfig{Test: []string{"NONE"}})))
	require.Equal(t, ctr, mergeHealth(nil, ctr))
}
