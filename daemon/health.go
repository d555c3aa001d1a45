package daemon

import (
	"bytes"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
)

// Docker's defaults for a HEALTHCHECK that leaves a value out.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
	// healthLogKeep and healthOutputMax bound what a probe leaves in
	// State.Health.Log, as dockerd's 5 results and 4 KiB.
	healthLogKeep   = 5
	healthOutputMax = 4096
)

// healthTable holds the health of the containers the daemon runs with a
// health check.
type healthTable struct {
	mu sync.Mutex
	m  map[string]*container.Health
}

// Health is the container's State.Health, nil without a health check
// (the inspect builder reports it).
func (s *Server) Health(id string) *container.Health {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	h := s.health.m[id]
	if h == nil {
		return nil
	}
	cp := *h
	cp.Log = append([]*container.HealthcheckResult(nil), h.Log...)
	return &cp
}

// healthProbe is a HEALTHCHECK with Docker's defaults filled in.
type healthProbe struct {
	cmd                            []string
	interval, timeout, startPeriod time.Duration
	retries                        int
}

// probeOf turns the image's health config into a probe; nil for none.
func probeOf(hc *store.HealthConfig) *healthProbe {
	if hc == nil || len(hc.Test) == 0 {
		return nil
	}
	p := &healthProbe{interval: hc.Interval, timeout: hc.Timeout, startPeriod: hc.StartPeriod, retries: hc.Retries}
	switch hc.Test[0] {
	case "CMD":
		p.cmd = hc.Test[1:]
	case "CMD-SHELL":
		if len(hc.Test) < 2 {
			return nil
		}
		p.cmd = []string{"/bin/sh", "-c", hc.Test[1]}
	default: // NONE, or what Docker would not run either
		return nil
	}
	if len(p.cmd) == 0 {
		return nil
	}
	if p.interval <= 0 {
		p.interval = defaultHealthInterval
	}
	if p.timeout <= 0 {
		p.timeout = defaultHealthTimeout
	}
	if p.retries <= 0 {
		p.retries = defaultHealthRetries
	}
	return p
}

// healthFromRequest checks a create request's health check as dockerd
// does and converts it; nil for none.
func healthFromRequest(hc *container.HealthConfig) (*store.HealthConfig, error) {
	if hc == nil {
		return nil, nil
	}
	for name, d := range map[string]time.Duration{"Interval": hc.Interval, "Timeout": hc.Timeout, "StartPeriod": hc.StartPeriod, "StartInterval": hc.StartInterval} {
		if d != 0 && d < time.Millisecond {
			return nil, badRequestf("%s in Healthcheck cannot be less than 1ms", name)
		}
	}
	if hc.Retries < 0 {
		return nil, badRequestf("Retries in Healthcheck cannot be negative")
	}
	if len(hc.Test) > 0 {
		switch hc.Test[0] {
		case "NONE", "CMD", "CMD-SHELL":
		default:
			return nil, badRequestf("unknown health check type %q: use NONE, CMD or CMD-SHELL", hc.Test[0])
		}
	}
	return &store.HealthConfig{
		Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod,
		StartInterval: hc.StartInterval, Retries: hc.Retries,
	}, nil
}

// mergeHealth lays the container's health check over the image's, as
// dockerd: a field the container leaves zero is the image's.
func mergeHealth(img, ctr *store.HealthConfig) *store.HealthConfig {
	if ctr == nil {
		return img
	}
	if img == nil {
		return ctr
	}
	out := *img
	if len(ctr.Test) > 0 {
		out.Test = ctr.Test
	}
	if ctr.Interval != 0 {
		out.Interval = ctr.Interval
	}
	if ctr.Timeout != 0 {
		out.Timeout = ctr.Timeout
	}
	if ctr.StartPeriod != 0 {
		out.StartPeriod = ctr.StartPeriod
	}
	if ctr.Retries != 0 {
		out.Retries = ctr.Retries
	}
	return &out
}

// monitorHealth runs the image's health check in the container, every
// interval, until done closes (the container stopped) or the daemon shuts
// down. Failures in the start period do not count, as Docker's.
func (s *Server) monitorHealth(c *store.Container, done <-chan struct{}) {
	var imgHealth *store.HealthConfig
	if img, err := s.eng.InspectImage(s.ctx, c.Image); err == nil && img != nil {
		imgHealth = img.Config.Healthcheck
	}
	probe := probeOf(mergeHealth(imgHealth, c.Config.Healthcheck))
	if probe == nil {
		return
	}
	s.setHealth(c.ID, &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}})
	defer func() {
		s.health.mu.Lock()
		delete(s.health.m, c.ID)
		s.health.mu.Unlock()
	}()
	started := time.Now()
	for {
		select {
		case <-done:
			return
		case <-s.ctx.Done():
			return
		case <-time.After(probe.interval):
		}
		res := s.runProbe(c.ID, probe)
		s.recordProbe(c.ID, probe, res, time.Since(started) < probe.startPeriod)
	}
}

// runProbe execs the check with its timeout.
func (s *Server) runProbe(id string, p *healthProbe) *container.HealthcheckResult {
	res := &container.HealthcheckResult{Start: time.Now()}
	var out limitedBuffer
	proc, err := s.eng.ExecContainer(s.ctx, id, engine.ExecOptions{Cmd: p.cmd, Stdio: engine.Stdio{Out: &out, Err: &out}})
	if err != nil {
		res.End, res.ExitCode, res.Output = time.Now(), -1, err.Error()
		return res
	}
	type exit struct{ code int }
	ch := make(chan exit, 1)
	go func() {
		code, _ := proc.Wait()
		ch <- exit{code}
	}()
	select {
	case e := <-ch:
		res.ExitCode = e.code
		res.Output = out.String()
	case <-time.After(p.timeout):
		_ = proc.Signal(syscall.SIGKILL)
		<-ch
		res.ExitCode = -1
		res.Output = fmt.Sprintf("Health check exceeded timeout (%s)", p.timeout)
	}
	res.End = time.Now()
	return res
}

// recordProbe updates the health with a result and emits Docker's
// health_status event when the status changes.
func (s *Server) recordProbe(id string, p *healthProbe, res *container.HealthcheckResult, inStartPeriod bool) {
	s.health.mu.Lock()
	h := s.health.m[id]
	if h == nil {
		s.health.mu.Unlock()
		return
	}
	before := h.Status
	h.Log = append(h.Log, res)
	if len(h.Log) > healthLogKeep {
		h.Log = h.Log[len(h.Log)-healthLogKeep:]
	}
	switch {
	case res.ExitCode == 0:
		h.Status, h.FailingStreak = container.Healthy, 0
	case inStartPeriod && before == container.Starting:
		// A failure while the container starts up does not count.
	default:
		h.FailingStreak++
		if h.FailingStreak >= p.retries {
			h.Status = container.Unhealthy
		}
	}
	after := h.Status
	s.health.mu.Unlock()
	if after != before {
		s.emitContainer(events.Action("health_status: "+string(after)), id, nil)
	}
}

func (s *Server) setHealth(id string, h *container.Health) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if s.health.m == nil {
		s.health.m = map[string]*container.Health{}
	}
	s.health.m[id] = h
}

// limitedBuffer keeps the first healthOutputMax bytes of a probe's output.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := healthOutputMax - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
