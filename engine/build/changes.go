package build

import (
	"github.com/berthkit/berth/engine/dockerfile"
	"github.com/berthkit/berth/engine/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ApplyChanges applies `commit --change` / `import --change` instructions
// (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME, WORKDIR,
// HEALTHCHECK) to an image config, with the same rules as the builder.
func ApplyChanges(cfg *ocispec.Image, ext *store.ExtConfig, changes []string) error {
	if len(changes) == 0 {
		return nil
	}
	instructions, err := dockerfile.ParseChanges(changes)
	if err != nil {
		return err
	}
	b := &Builder{df: &dockerfile.Dockerfile{EscapeToken: '\\'}, unusedArgs: map[string]bool{}}
	s := &stageState{config: *cfg, ext: *ext, args: map[string]string{}}
	for _, ins := range instructions {
		if _, err := b.metaChange(s, ins); err != nil {
			return err
		}
	}
	*cfg, *ext = s.config, s.ext
	return nil
}
