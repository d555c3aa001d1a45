package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/berthkit/berth/engine/registry"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConfigRead bounds an image config read for its platform.
const maxConfigRead = 4 << 20

// DistributionInspect asks the registry what name (REPO[:TAG|@DIGEST])
// points to, as GET /distribution/{name}/json: the manifest's descriptor and
// the platforms it offers (an index's entries, or a manifest's config).
func (e *Engine) DistributionInspect(ctx context.Context, name string, keychain authn.Keychain) (ocispec.Descriptor, []ocispec.Platform, error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return ocispec.Descriptor{}, nil, requestError(fmt.Sprintf("invalid reference format: %s", name))
	}
	named = reference.TagNameOnly(named)
	ref := ""
	if d, ok := named.(reference.Digested); ok {
		ref = d.Digest().String()
	} else if t, ok := named.(reference.Tagged); ok {
		ref = t.Tag()
	}
	client, err := e.registryClient(nil, keychain)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	repo, err := client.Repository(named.Name())
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	sess, err := client.Open(ctx, repo, registry.Pull)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	m, err := sess.Manifest(ctx, ref)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	desc := m.Descriptor()
	if m.IsIndex() {
		var idx ocispec.Index
		if err := json.Unmarshal(m.Data, &idx); err != nil {
			return ocispec.Descriptor{}, nil, fmt.Errorf("index of %s: %w", name, err)
		}
		platforms := []ocispec.Platform{}
		for _, d := range idx.Manifests {
			if d.Platform != nil {
				platforms = append(platforms, *d.Platform)
			}
		}
		return desc, platforms, nil
	}
	var man ocispec.Manifest
	if err := json.Unmarshal(m.Data, &man); err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("manifest of %s: %w", name, err)
	}
	p, err := configPlatform(ctx, sess, man.Config.Digest)
	if err != nil {
		return desc, []ocispec.Platform{}, nil // the descriptor is the answer; the platform a courtesy
	}
	return desc, []ocispec.Platform{p}, nil
}

// configPlatform reads the platform from an image config blob, verified.
func configPlatform(ctx context.Context, sess *registry.Session, d digest.Digest) (ocispec.Platform, error) {
	rc, _, err := sess.Blob(ctx, d)
	if err != nil {
		return ocispec.Platform{}, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxConfigRead+1))
	if err != nil {
		return ocispec.Platform{}, err
	}
	if len(data) > maxConfigRead || digest.FromBytes(data) != d {
		return ocispec.Platform{}, fmt.Errorf("config %s does not match its digest", d)
	}
	var img ocispec.Image
	if err := json.Unmarshal(data, &img); err != nil {
		return ocispec.Platform{}, err
	}
	return img.Platform, nil
}

// RegistryLogin checks credentials against a registry, as POST /auth: the
// client stores them itself.
func (e *Engine) RegistryLogin(ctx context.Context, server, username, password string) (host string, err error) {
	host = registry.NormalizeServer(server)
	client, err := e.registryClient(nil)
	if err != nil {
		return host, err
	}
	return host, client.Login(ctx, host, username, password)
}
