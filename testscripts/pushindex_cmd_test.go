//go:build linux

package testscripts

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/rogpeppe/go-internal/testscript"
)

// pushIndexCmd pushes a multi-platform index, as `docker manifest create`
// and `docker manifest push` do (Docker's client cannot push to a registry
// that lets anonymous clients pull, so the scenario uses
// go-containerregistry's writer):
//
//	pushindex [-docker] DEST OS/ARCH=IMAGE...
//	    reads each IMAGE from its registry, lists it under OS/ARCH in an
//	    OCI image index (with -docker, a Docker manifest list) and pushes
//	    the index as DEST with berth:$SERVE_TOKEN.
func pushIndexCmd(ts *testscript.TestScript, neg bool, args []string) {
	mediaType := types.OCIImageIndex
	if len(args) > 0 && args[0] == "-docker" {
		mediaType, args = types.DockerManifestList, args[1:]
	}
	if len(args) < 2 {
		ts.Fatalf("usage: pushindex [-docker] DEST OS/ARCH=IMAGE...")
	}
	auth := remote.WithAuth(&authn.Basic{Username: "berth", Password: ts.Getenv("SERVE_TOKEN")})
	var adds []mutate.IndexAddendum
	for _, a := range args[1:] {
		plat, image, ok := strings.Cut(a, "=")
		osName, arch, ok2 := strings.Cut(plat, "/")
		if !ok || !ok2 {
			ts.Fatalf("pushindex: %q is not OS/ARCH=IMAGE", a)
		}
		ref, err := name.ParseReference(image, name.Insecure)
		ts.Check(err)
		img, err := remote.Image(ref, auth)
		ts.Check(err)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), mediaType)
	dest, err := name.ParseReference(args[0], name.Insecure)
	ts.Check(err)
	err = remote.WriteIndex(dest, idx, auth)
	if neg {
		if err == nil {
			ts.Fatalf("pushindex succeeded unexpectedly")
		}
		ts.Logf("pushindex: %v", err)
		return
	}
	ts.Check(err)
	d, err := idx.Digest()
	ts.Check(err)
	_, _ = ts.Stdout().Write([]byte(d.String() + "\n"))
}
