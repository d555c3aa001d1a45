package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthkit/berth/trace"
	"github.com/stretchr/testify/require"
)

const multiStageDockerfile = "FROM alpine AS builder\nCOPY main.c /src/\nFROM alpine\nCOPY --from=builder /src/main.c /out/\nCOPY --from=alpine / /alpine-root/\n"

// --explain follows COPY --from into the stage (or image) it names instead
// of looking the path up in the context.
func TestExplainResolvesCopyFrom(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": multiStageDockerfile, "main.c": "int main(){}\n"})

	plan := build(t, f, dir, Options{Explain: true})
	require.Len(t, plan.Steps, 5)
	require.True(t, plan.Steps[3].WouldRun)
	require.Contains(t, plan.Steps[3].Explanation, "stage builder would be rebuilt from step 2")

	build(t, f, dir, Options{})
	plan = build(t, f, dir, Options{Explain: true})
	require.Equal(t, []bool{false, true, false, true, true}, cachedSteps(plan))

	// A change in the builder stage: its COPY would run, so what the final
	// stage copies from it is not known yet.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.c"), []byte("int main(){return 1;}\n"), 0o644))
	plan = build(t, f, dir, Options{Explain: true})
	require.Equal(t, ReasonSourceChanged, plan.Steps[1].Reason)
	require.True(t, plan.Steps[3].WouldRun)
	require.Equal(t, ReasonSourceChanged, plan.Steps[3].Reason)
	require.Contains(t, plan.Steps[3].Explanation, "stage builder would be rebuilt from step 2")
	require.Equal(t, ReasonEarlierMiss, plan.Steps[4].Reason)

	// An image that is not in the store would be pulled.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"),
		[]byte("FROM alpine\nCOPY --from=example.com/tools:1 /bin/tool /bin/\n"), 0o644))
	plan = build(t, f, dir, Options{Explain: true})
	require.Contains(t, plan.Steps[1].Explanation, "image example.com/tools:1 is not in the store: it would be pulled")
}

// COPY --from of a missing image pulls it; a failed pull says so in
// Docker's words.
func TestCopyFromMissingImage(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine\nCOPY --from=nosuch:1 /x /x\n"})
	_, err := Build(context.Background(), f, Options{ContextDir: dir, Remove: true})
	require.ErrorContains(t, err, "invalid from flag value nosuch:1: pull access denied for nosuch:1")
}

// The history of COPY --from shows the content checksum, as Docker's; the
// cache key names the source image.
func TestCopyFromHistoryIsContent(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": multiStageDockerfile, "main.c": "int main(){}\n"})
	res := build(t, f, dir, Options{})
	img, err := f.s.Image(res.Steps[3].Image.String())
	require.NoError(t, err)
	got := img.Config.History[len(img.Config.History)-1].CreatedBy
	require.Regexp(t, `^/bin/sh -c #\(nop\) COPY file:[0-9a-f]{64} in /out/ $`, got)
	copied, err := os.ReadFile(filepath.Join(f.trees[res.Steps[3].Image], "out", "main.c"))
	require.NoError(t, err)
	require.Equal(t, "int main(){}\n", string(copied))
}

// A symlink named as a source is followed (inside the context); symlinks
// inside a copied directory are copied as symlinks.
func TestCopySymlinkSource(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM alpine\nCOPY link.txt /dst/\nCOPY linkdir /tree/\nCOPY conf /conf/\nCOPY escape /esc/\nCOPY linkdir/a.ini /via/\n",
		"real.txt":   "real content\n", "conf/a.ini": "a=1\n",
	})
	require.NoError(t, os.Symlink("real.txt", filepath.Join(dir, "link.txt")))
	require.NoError(t, os.Symlink("conf", filepath.Join(dir, "linkdir")))
	require.NoError(t, os.Symlink("a.ini", filepath.Join(dir, "conf", "b.ini")))
	require.NoError(t, os.Symlink("/etc/../../real.txt", filepath.Join(dir, "escape")))
	res := build(t, f, dir, Options{})
	root := f.trees[res.ImageID]

	st, err := os.Lstat(filepath.Join(root, "dst", "link.txt"))
	require.NoError(t, err)
	require.True(t, st.Mode().IsRegular(), "a named symlink is copied as what it points to")
	data, _ := os.ReadFile(filepath.Join(root, "dst", "link.txt"))
	require.Equal(t, "real content\n", string(data))

	data, err = os.ReadFile(filepath.Join(root, "tree", "a.ini"))
	require.NoError(t, err, "a symlink to a directory copies the directory's contents")
	require.Equal(t, "a=1\n", string(data))

	target, err := os.Readlink(filepath.Join(root, "conf", "b.ini"))
	require.NoError(t, err, "a symlink inside a copied directory stays a symlink")
	require.Equal(t, "a.ini", target)

	data, err = os.ReadFile(filepath.Join(root, "via", "a.ini"))
	require.NoError(t, err, "a symlinked directory on the way is followed")
	require.Equal(t, "a=1\n", string(data))

	// An absolute target resolves inside the context, never on the host.
	data, err = os.ReadFile(filepath.Join(root, "esc", "escape"))
	require.NoError(t, err)
	require.Equal(t, "real content\n", string(data))
}

// ARGs before the first FROM are steps, as Docker counts them.
func TestMetaArgsAreSteps(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "ARG BASE=alpine\nFROM $BASE\nCMD [\"x\"]\n"})
	var out strings.Builder
	f.rec = &trace.Buffer{}
	res := build(t, f, dir, Options{})
	console := trace.NewConsole(&out, &out)
	for _, ev := range f.rec.Events() {
		console.Record(ev)
	}
	require.Len(t, res.Steps, 3)
	require.True(t, res.Steps[0].Meta)
	text := out.String()
	require.Contains(t, text, "Step 1/3 : ARG BASE=alpine\nStep 2/3 : FROM $BASE\n ---> ")
	require.Contains(t, text, "Step 3/3 : CMD [\"x\"]\n")
}

func TestBuildFlags(t *testing.T) {
	f := newFake(t)
	f.base(t, "alpine")
	dir := writeContext(t, map[string]string{"Dockerfile": "FROM alpine AS base\nCMD [\"a\"]\nFROM base\nCMD [\"b\"]\n"})
	_, err := Build(context.Background(), f, Options{ContextDir: dir, Target: "nope"})
	require.EqualError(t, err, `target stage "nope" could not be found`)
	_, err = Build(context.Background(), f, Options{ContextDir: dir, Platform: "linux/s390x"})
	require.ErrorContains(t, err, "--platform linux/s390x is not supported: berth builds only for the host platform linux/")
	_, plat := platform()
	build(t, f, dir, Options{Platform: "linux/" + plat})

	// --label: one LABEL step per label, sorted, values taken literally.
	res := build(t, f, dir, Options{Target: "base", Labels: map[string]string{"b": "$HOME", "a": "1"}})
	require.Len(t, res.Steps, 4)
	require.Equal(t, "LABEL a=1", res.Steps[2].Original)
	require.Equal(t, "LABEL b=$HOME", res.Steps[3].Original)
	img, err := f.s.Image(res.ImageID.String())
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "1", "b": "$HOME"}, img.Config.Config.Labels)
	require.Equal(t, []string{"a"}, img.Config.Config.Cmd)
}
