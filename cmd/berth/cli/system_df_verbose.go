package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/distribution/reference"
)

// dfImageRow is an image in `system df -v` (docker/cli's image context).
type dfImageRow struct {
	Repository, Tag, ID, CreatedSince, Size, SharedSize, UniqueSize, Containers string
}

// dfContainerRow is a container in `system df -v`: ps's row, with the size
// of what it wrote only, as docker/cli shows it there.
type dfContainerRow struct{ *psRow }

func (r dfContainerRow) Size() string {
	return humanSizePrecision(float64(r.sizeRw), 3)
}

// dfVolumeRow is a volume in `system df -v`.
type dfVolumeRow struct{ Name, Links, Size string }

// writeDfVerbose is docker/cli's verbose disk usage table: images,
// containers, local volumes and build cache, each under its heading.
func writeDfVerbose(ctx context.Context, eng *engine.Engine, w io.Writer) error {
	images, err := eng.ImagesUsage(ctx)
	if err != nil {
		return err
	}
	var imageRows []any
	for _, u := range images {
		repo, tag := "<none>", "<none>"
		if len(u.Image.Refs) > 0 {
			// As Docker: the first name only.
			if ref, err := reference.ParseNormalizedNamed(u.Image.Refs[0]); err == nil {
				if nt, ok := ref.(reference.NamedTagged); ok {
					repo, tag = reference.FamiliarName(ref), nt.Tag()
				}
			}
		}
		imageRows = append(imageRows, dfImageRow{Repository: repo, Tag: tag, ID: u.Image.ShortID(),
			CreatedSince: createdSince(u.Image.Created()), Size: imageSize(u.Image.Size),
			SharedSize: imageSize(u.Shared), UniqueSize: imageSize(u.Unique), Containers: strconv.Itoa(u.Containers)})
	}
	containers, err := localBackend{eng: eng}.Containers(ctx, true, true, func(*store.Container) bool { return true })
	if err != nil {
		return err
	}
	var containerRows []any
	for _, c := range containers {
		containerRows = append(containerRows, dfContainerRow{&psRow{psContainer: c, trunc: true, size: true}})
	}
	vols, err := eng.Volumes(ctx)
	if err != nil {
		return err
	}
	var volumeRows []any
	for _, v := range vols {
		users, err := eng.VolumeUsers(v.Name)
		if err != nil {
			return err
		}
		volumeRows = append(volumeRows, dfVolumeRow{Name: v.Name, Links: strconv.Itoa(len(users)),
			Size: humanSizePrecision(float64(eng.VolumeSize(v.Name)), 3)})
	}
	sections := []struct {
		title, format string
		headers       map[string]string
		rows          []any
	}{
		{"Images space usage:\n\n", "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", imageHeaders, imageRows},
		{"\nContainers space usage:\n\n", "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", psHeaders, containerRows},
		{"\nLocal Volumes space usage:\n\n", "table {{.Name}}\t{{.Links}}\t{{.Size}}", map[string]string{"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}, volumeRows},
		// Berth's build cache is its images: nothing of its own to list.
		{"\nBuild cache usage: 0B\n\n", "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}",
			map[string]string{"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED", "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}, nil},
	}
	for _, s := range sections {
		fmt.Fprint(w, s.title)
		lf, err := newListFormat(s.format, "", s.headers)
		if err != nil {
			return err
		}
		if err := lf.write(w, s.rows); err != nil {
			return err
		}
	}
	return nil
}
