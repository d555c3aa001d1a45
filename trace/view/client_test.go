package view

import (
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
)

func TestClientLines(t *testing.T) {
	c := &trace.ClientInfo{Host: "unix:///run/berth.sock", Method: "POST", Path: "/build", Bytes: 5120, Files: 2}
	eq(t, "client → daemon: POST /build over unix:///run/berth.sock", clientLine(trace.ClientRequest, c))
	eq(t, "client → daemon: the build context, 2 files as a 5.12kB tar, uploaded; the server unpacks it and builds from it", clientLine(trace.ClientUpload, c))
	c.Image, c.DurationMS = "sha256:"+strings.Repeat("b", 64), 1200
	eq(t, "daemon → client: POST /build answered after 1.2s: image bbbbbbbbbbbb", clientLine(trace.ClientResponse, c))
	c.Image, c.Error = "", "boom\nmore"
	eq(t, "daemon → client: POST /build answered after 1.2s: error: boom", clientLine(trace.ClientResponse, c))
}

func eq(t *testing.T, want, got string) {
	t.Helper()
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
