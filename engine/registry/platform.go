package registry

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/berthkit/berth/engine/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform is an os/arch[/variant] triple as --platform spells it.
type Platform struct {
	OS, Architecture, Variant string
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// HostPlatform is linux/<the host's architecture>: containers are Linux
// whatever runs Berth's CLI.
func HostPlatform() Platform {
	p := Platform{OS: "linux", Architecture: runtime.GOARCH}
	if p.Architecture == "arm" {
		p.Variant = "v7"
	}
	return p
}

// ParsePlatform reads "linux/amd64", "linux/arm64/v8", "arm64" (linux
// implied); empty is the host platform.
func ParsePlatform(s string) (Platform, error) {
	if s == "" {
		return HostPlatform(), nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	var p Platform
	switch len(parts) {
	case 1:
		p = Platform{OS: "linux", Architecture: parts[0]}
	case 2:
		p = Platform{OS: parts[0], Architecture: parts[1]}
	case 3:
		p = Platform{OS: parts[0], Architecture: parts[1], Variant: parts[2]}
	default:
		return Platform{}, fmt.Errorf("invalid platform %q: write os/arch[/variant], such as linux/amd64", s)
	}
	for _, part := range parts {
		if part == "" {
			return Platform{}, fmt.Errorf("invalid platform %q: write os/arch[/variant], such as linux/amd64", s)
		}
	}
	return p.normalize(), nil
}

// normalize applies containerd's aliases: x86_64 is amd64, aarch64 is
// arm64, and arm64's default variant v8 is no variant.
func (p Platform) normalize() Platform {
	switch p.Architecture {
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "aarch64":
		p.Architecture = "arm64"
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	case "i386", "i686":
		p.Architecture = "386"
	}
	if p.Architecture == "arm64" && p.Variant == "v8" {
		p.Variant = ""
	}
	return p
}

// Matches reports whether an image of platform other runs here.
func (p Platform) Matches(other Platform) bool {
	p, other = p.normalize(), other.normalize()
	if p.OS != other.OS || p.Architecture != other.Architecture {
		return false
	}
	return p.Variant == "" || other.Variant == "" || p.Variant == other.Variant
}

// SelectManifest picks the entry of an index (OCI or Docker manifest list)
// for platform, preferring an exact variant. No match is Docker's error: "no
// matching manifest for linux/arm64 in the manifest list entries".
func SelectManifest(index []byte, want Platform) (ocispec.Descriptor, error) {
	idx, err := store.DecodeIndex(index)
	if err != nil {
		return ocispec.Descriptor{}, &Error{Kind: ErrInvalid, Err: err, Msg: fmt.Sprintf("the image index is refused: %v; nothing was tagged", err)}
	}
	var best *ocispec.Descriptor
	for i, d := range idx.Manifests {
		if d.Platform == nil {
			continue
		}
		got := Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Variant: d.Platform.Variant}
		if !want.Matches(got) {
			continue
		}
		if best == nil || (got.normalize().Variant == want.normalize().Variant && best.Platform.Variant != want.Variant) {
			best = &idx.Manifests[i]
		}
	}
	if best == nil {
		return ocispec.Descriptor{}, &Error{Kind: ErrNotFound,
			Msg: fmt.Sprintf("no matching manifest for %s in the manifest list entries (choose another with --platform)", want)}
	}
	return *best, nil
}
