package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/engine"
	"github.com/berthkit/berth/engine/store"
	"github.com/berthkit/berth/trace"
)

func TestTagImageEmitsTrace(t *testing.T) {
	e := imgEngine(t)
	var buf trace.Buffer
	e.AddRecorder(&buf)
	img := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
	if _, err := e.TagImage(context.Background(), img.ShortID(), "rommelrico/redis"); err != nil {
		t.Fatal(err)
	}
	tags := buf.OfType(trace.Tag)
	if len(tags) != 1 || tags[0].Tag.Ref != "rommelrico/redis:latest" || tags[0].Tag.Image != img.ID.String() {
		t.Fatalf("tag events = %+v", tags)
	}
	if _, err := e.TagImage(context.Background(), "nope", "x"); err == nil || err.Error() != "No such image: nope:latest" {
		t.Errorf("unknown source: %v", err)
	}
	if _, err := e.TagImage(context.Background(), img.ShortID(), "Bad"); err == nil || err.Error() != "invalid reference format: repository name must be lowercase" {
		t.Errorf("bad target: %v", err)
	}
}

func TestListImagesHidesIntermediates(t *testing.T) {
	e := imgEngine(t)
	ctx := context.Background()
	base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
	step := imgPut(t, e, base, "/bin/sh -c step", imgLayerTar(t, imgFile{"b", "2"}))
	top := imgPut(t, e, step, `/bin/sh -c #(nop)  CMD ["x"]`)
	dangling := imgPut(t, e, nil, "other", imgLayerTar(t, imgFile{"c", "3"}))
	imgTag(t, e, base, "busybox")
	imgTag(t, e, top, "app:1", "app:2")

	rows := func(opts engine.ListImagesOptions) string {
		list, err := e.ListImages(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.Repository+":"+s.Tag+"="+s.Image.ShortID())
		}
		return strings.Join(out, " ")
	}
	// Newest first; the untagged step (a parent) is hidden, the dangling one shown.
	want := "<none>:<none>=" + dangling.ShortID() + " app:1=" + top.ShortID() + " app:2=" + top.ShortID() + " busybox:latest=" + base.ShortID()
	if got := rows(engine.ListImagesOptions{}); got != want {
		t.Errorf("images:\n got %s\nwant %s", got, want)
	}
	if got := rows(engine.ListImagesOptions{All: true}); !strings.Contains(got, "<none>:<none>="+step.ShortID()) {
		t.Errorf("images -a lacks the intermediate image: %s", got)
	}
	if got := rows(engine.ListImagesOptions{Filters: []string{"dangling=true"}}); got != "<none>:<none>="+dangling.ShortID() {
		t.Errorf("dangling=true: %s", got)
	}
	if got := rows(engine.ListImagesOptions{Reference: "app:2"}); got != "app:2="+top.ShortID() {
		t.Errorf("images app:2: %s", got)
	}
	if got := rows(engine.ListImagesOptions{Filters: []string{"reference=app"}}); got != "app:1="+top.ShortID()+" app:2="+top.ShortID() {
		t.Errorf("reference=app: %s", got)
	}
	if _, err := e.ListImages(ctx, engine.ListImagesOptions{Filters: []string{"colour=red"}}); err == nil {
		t.Error("unknown filter accepted")
	}
}

func TestRemoveImageAsDocker(t *testing.T) {
	ctx := context.Background()
	t.Run("name untags, last name deletes and prunes parents", func(t *testing.T) {
		e := imgEngine(t)
		base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
		step := imgPut(t, e, base, "step", imgLayerTar(t, imgFile{"b", "2"}))
		top := imgPut(t, e, step, "cmd")
		imgTag(t, e, top, "app:1", "app:2")
		recs, err := e.RemoveImage(ctx, "app:1", engine.RemoveImageOptions{})
		if err != nil || len(recs) != 1 || recs[0].Untagged != "app:1" {
			t.Fatalf("rmi app:1 = %+v, %v", recs, err)
		}
		recs, err = e.RemoveImage(ctx, "app:2", engine.RemoveImageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, r := range recs {
			if r.Untagged != "" {
				lines = append(lines, "Untagged: "+r.Untagged)
			} else {
				lines = append(lines, "Deleted: "+r.Deleted)
			}
		}
		chains := step.ChainIDs()
		want := []string{
			"Untagged: app:2",
			"Deleted: " + top.ID.String(), // no layer of its own
			"Deleted: " + step.ID.String(),
			"Deleted: " + chains[1].String(),
			"Deleted: " + base.ID.String(),
			"Deleted: " + chains[0].String(),
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("rmi app:2:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		if refs := imgRefs(t, e); len(refs) != 0 {
			t.Errorf("left: %v", refs)
		}
		if blobs, _ := os.ReadDir(filepath.Join(e.Root(), "blobs", "sha256")); len(blobs) != 0 {
			t.Errorf("%d blobs left after removing everything", len(blobs))
		}
	})
	t.Run("tagged parent stops the pruning", func(t *testing.T) {
		e := imgEngine(t)
		base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
		top := imgPut(t, e, base, "step", imgLayerTar(t, imgFile{"b", "2"}))
		imgTag(t, e, base, "busybox")
		imgTag(t, e, top, "app")
		if _, err := e.RemoveImage(ctx, "app", engine.RemoveImageOptions{}); err != nil {
			t.Fatal(err)
		}
		if refs := imgRefs(t, e); strings.Join(refs, " ") != "busybox:latest="+base.ShortID() {
			t.Errorf("left: %v", refs)
		}
	})
	t.Run("conflicts", func(t *testing.T) {
		e := imgEngine(t)
		base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
		top := imgPut(t, e, base, "step", imgLayerTar(t, imgFile{"b", "2"}))
		imgTag(t, e, base, "busybox", "mybox")
		imgTag(t, e, top, "app")

		solo := imgPut(t, e, nil, "solo", imgLayerTar(t, imgFile{"s", "s"}))
		imgTag(t, e, solo, "solo:1", "solo:2")
		_, err := e.RemoveImage(ctx, solo.ShortID(), engine.RemoveImageOptions{})
		want := "conflict: unable to delete " + solo.ShortID() + " (must be forced) - image is referenced in multiple repositories"
		if err == nil || err.Error() != want || !errors.Is(err, store.ErrConflict) {
			t.Errorf("rmi ID with two names: %v\nwant %s", err, want)
		}
		recs, err := e.RemoveImage(ctx, solo.ShortID(), engine.RemoveImageOptions{Force: true})
		if err != nil || len(recs) != 4 || recs[0].Untagged != "solo:1" || recs[1].Untagged != "solo:2" || recs[2].Deleted != solo.ID.String() {
			t.Errorf("rmi -f ID with two names = %+v, %v", recs, err)
		}
		_, err = e.RemoveImage(ctx, base.ShortID(), engine.RemoveImageOptions{Force: true})
		want = "conflict: unable to delete " + base.ShortID() + " (cannot be forced) - image has dependent child images"
		if err == nil || err.Error() != want {
			t.Errorf("rmi -f of a parent: %v\nwant %s", err, want)
		}

		c := &store.Container{ID: store.RandomID(), Image: top.ID.String(), State: store.ContainerState{Status: "exited"}}
		if err := e.Store.PutContainer(c); err != nil {
			t.Fatal(err)
		}
		_, err = e.RemoveImage(ctx, "app", engine.RemoveImageOptions{})
		want = `conflict: unable to remove repository reference "app" (must force) - container ` + c.ShortID() + " is using its referenced image " + top.ShortID()
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("rmi of an image a container uses: %v\nwant %s", err, want)
		}
		_, err = e.RemoveImage(ctx, top.ShortID(), engine.RemoveImageOptions{})
		want = "conflict: unable to delete " + top.ShortID() + " (must be forced) - image is being used by stopped container " + c.ShortID()
		if err == nil || err.Error() != want {
			t.Errorf("rmi ID used by a stopped container: %v\nwant %s", err, want)
		}
		c.State.Status = "running"
		e.Store.PutContainer(c)
		_, err = e.RemoveImage(ctx, top.ShortID(), engine.RemoveImageOptions{Force: true})
		want = "conflict: unable to delete " + top.ShortID() + " (cannot be forced) - image is being used by running container " + c.ShortID()
		if err == nil || err.Error() != want {
			t.Errorf("rmi -f of a running container's image: %v\nwant %s", err, want)
		}
		// Forced by name: untagged, kept (the container holds it) as <none>.
		recs, err = e.RemoveImage(ctx, "app", engine.RemoveImageOptions{Force: true})
		if err != nil || len(recs) != 1 || recs[0].Untagged != "app:latest" {
			t.Errorf("rmi -f app = %+v, %v", recs, err)
		}
		if _, err := e.RemoveImage(ctx, "nope", engine.RemoveImageOptions{}); err == nil || err.Error() != "No such image: nope:latest" {
			t.Errorf("rmi nope: %v", err)
		}
	})
}

func TestPruneImages(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
	imgTag(t, e, base, "busybox")
	dangling := imgPut(t, e, base, "step", imgLayerTar(t, imgFile{"big", strings.Repeat("x", 10000)}))
	used := imgPut(t, e, nil, "used", imgLayerTar(t, imgFile{"u", "u"}))
	c := &store.Container{ID: store.RandomID(), Image: used.ID.String(), State: store.ContainerState{Status: "exited"}}
	if err := e.Store.PutContainer(c); err != nil {
		t.Fatal(err)
	}
	report, err := e.PruneImages(ctx, engine.PruneImagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Records) != 2 || report.Records[0].Deleted != dangling.ID.String() || report.Reclaimed != int64(len(imgLayerTar(t, imgFile{"big", strings.Repeat("x", 10000)}))) {
		t.Errorf("prune = %+v", report)
	}
	if refs := imgRefs(t, e); strings.Join(refs, " ") != "<none>="+used.ShortID()+" busybox:latest="+base.ShortID() {
		t.Errorf("after prune: %v", refs)
	}
	report, err = e.PruneImages(ctx, engine.PruneImagesOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if refs := imgRefs(t, e); strings.Join(refs, " ") != "<none>="+used.ShortID() {
		t.Errorf("after prune -a: %v (records %+v)", refs, report.Records)
	}
	if report.Records[0].Untagged != "busybox:latest" {
		t.Errorf("prune -a records: %+v", report.Records)
	}
}

func TestImageHistoryWalksParents(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	base := imgPut(t, e, nil, "ADD rootfs", imgLayerTar(t, imgFile{"a", "12345"}))
	step := imgPut(t, e, base, "/bin/sh -c apk add --update redis", imgLayerTar(t, imgFile{"b", "2"}))
	top := imgPut(t, e, step, `/bin/sh -c #(nop)  CMD ["redis-server"]`)
	imgTag(t, e, top, "rommelrico/redis")
	items, err := e.ImageHistory(ctx, "rommelrico/redis")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("%d history rows", len(items))
	}
	wantIDs := []string{top.ID.String(), step.ID.String(), base.ID.String()}
	for i, it := range items {
		if it.ID != wantIDs[i] {
			t.Errorf("row %d ID %s, want %s", i, it.ID, wantIDs[i])
		}
	}
	if !items[0].EmptyLayer || items[0].Size != 0 || items[0].CreatedBy != `/bin/sh -c #(nop)  CMD ["redis-server"]` {
		t.Errorf("top row %+v", items[0])
	}
	if items[2].Size != int64(len(imgLayerTar(t, imgFile{"a", "12345"}))) || items[2].Layer != 0 {
		t.Errorf("base row %+v", items[2])
	}
	if strings.Join(items[0].Tags, ",") != "rommelrico/redis:latest" {
		t.Errorf("tags %v", items[0].Tags)
	}
	// Without the parents (a loaded image), the older rows are <missing>.
	other := imgEngine(t)
	imgLoad(t, other, imgSave(t, e, "rommelrico/redis"))
	items, err = other.ImageHistory(ctx, "rommelrico/redis")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].ID != top.ID.String() || items[1].ID != "<missing>" || items[2].ID != "<missing>" {
		t.Errorf("history of a loaded image: %+v", items)
	}
}

func TestImageChangesPerLayer(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	base := imgPut(t, e, nil, "base", imgLayerTar(t,
		imgFile{"etc/", ""}, imgFile{"etc/passwd", "root"}, imgFile{"var/", ""}, imgFile{"var/cache/", ""},
		imgFile{"var/cache/a", "a"}, imgFile{"var/cache/sub/", ""}, imgFile{"var/cache/sub/b", "b"}, imgFile{"tmp/", ""}, imgFile{"tmp/x", "x"}))
	mid := imgPut(t, e, base, "edit", imgLayerTar(t,
		imgFile{"etc/", ""}, imgFile{"etc/passwd", "root2"}, imgFile{"etc/redis.conf", "conf"}, imgFile{"tmp/", ""}, imgFile{"tmp/.wh.x", ""}))
	top := imgPut(t, e, mid, "clean", imgLayerTar(t,
		imgFile{"var/", ""}, imgFile{"var/cache/", ""}, imgFile{"var/cache/.wh..wh..opq", ""}, imgFile{"var/cache/new", "n"}))
	_, layers, err := e.ImageChanges(ctx, top.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(layers))
	for i, l := range layers {
		var parts []string
		for _, c := range l.Changes {
			parts = append(parts, c.String())
		}
		got[i] = l.CreatedBy + ": " + strings.Join(parts, ", ")
	}
	want := []string{
		"base: A /etc, A /etc/passwd, A /var, A /var/cache, A /var/cache/a, A /var/cache/sub, A /var/cache/sub/b, A /tmp, A /tmp/x",
		"edit: C /etc, C /etc/passwd, A /etc/redis.conf, C /tmp, D /tmp/x",
		"clean: C /var, C /var/cache, A /var/cache/new, D /var/cache/a, D /var/cache/sub",
	}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("layer %d:\n got %q\nwant %q", i+1, got[i], want[i])
		}
	}
	if layers[2].Size != int64(len(imgLayerTar(t, imgFile{"var/", ""}, imgFile{"var/cache/", ""}, imgFile{"var/cache/.wh..wh..opq", ""}, imgFile{"var/cache/new", "n"}))) {
		t.Errorf("layer 3 size %d", layers[2].Size)
	}
}

func TestInspectImage(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	base := imgPut(t, e, nil, "base", imgLayerTar(t, imgFile{"a", "1"}))
	top := imgPut(t, e, base, "step", imgLayerTar(t, imgFile{"b", "2"}))
	imgTag(t, e, top, "rommelrico/redis:latest", "localhost:5000/redis:1")
	got, err := e.InspectImage(ctx, "rommelrico/redis")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != top.ID.String() || got.Parent != base.ID.String() || got.Os != "linux" || got.Architecture != "amd64" {
		t.Errorf("inspect = %+v", got)
	}
	if strings.Join(got.RepoTags, " ") != "localhost:5000/redis:1 rommelrico/redis:latest" {
		t.Errorf("RepoTags %v", got.RepoTags)
	}
	// As Docker: no repository digest until a registry has seen the image.
	if len(got.RepoDigests) != 0 {
		t.Errorf("RepoDigests of a local image: %v", got.RepoDigests)
	}
	if err := e.Store.SetRepoDigest("rommelrico/redis", "docker.io/rommelrico/redis@"+top.ManifestDigest.String()); err != nil {
		t.Fatal(err)
	}
	got, _ = e.InspectImage(ctx, "rommelrico/redis")
	if strings.Join(got.RepoDigests, " ") != "rommelrico/redis@"+top.ManifestDigest.String() {
		t.Errorf("RepoDigests after a push: %v", got.RepoDigests)
	}
	list, err := e.ListImages(ctx, engine.ListImagesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range list {
		want := ""
		if row.Repository == "rommelrico/redis" {
			want = top.ManifestDigest.String()
		}
		if row.Digest.String() != want {
			t.Errorf("images --digests row %s: %q, want %q", row.Repository, row.Digest, want)
		}
	}
	if len(got.RootFS.Layers) != 2 || got.RootFS.Layers[1] != top.DiffIDs()[1].String() || got.Size != top.Size {
		t.Errorf("RootFS %+v size %d", got.RootFS, got.Size)
	}
	if _, err := e.InspectImage(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("inspect nope: %v", err)
	}
}

func TestDiskUsage(t *testing.T) {
	ctx := context.Background()
	e := imgEngine(t)
	l1 := imgLayerTar(t, imgFile{"a", strings.Repeat("a", 3000)})
	l2 := imgLayerTar(t, imgFile{"b", strings.Repeat("b", 5000)})
	base := imgPut(t, e, nil, "base", l1)
	top := imgPut(t, e, base, "step", l2)
	c := &store.Container{ID: store.RandomID(), Image: base.ID.String(), State: store.ContainerState{Status: "running"}}
	if err := e.Store.PutContainer(c); err != nil {
		t.Fatal(err)
	}
	du, err := e.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = top
	if du.Images != 2 || du.ActiveImages != 1 || du.ImagesSize != int64(len(l1)+len(l2)) || du.ImagesReclaimable != int64(len(l2)) {
		t.Errorf("images: %+v", du)
	}
	if du.Containers != 1 || du.RunningContainers != 1 || du.ContainersReclaimable != 0 || du.ContainersSize == 0 {
		t.Errorf("containers: %+v", du)
	}
}
