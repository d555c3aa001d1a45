package build

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthkit/berth/trace"
)

// FuzzCacheKey feeds one instruction after FROM through the planner twice and
// checks that the cache key text is deterministic and that a miss always
// carries a reason. It must never panic, whatever the instruction.
func FuzzCacheKey(f *testing.F) {
	for _, seed := range []string{
		"RUN apk add --update redis",
		`CMD ["redis-server"]`,
		"ENV A=1 B=\"two words\"",
		"ARG VERSION=1\nRUN echo $VERSION",
		"COPY app.py /app/",
		"LABEL a=b c=\"d e\"",
		"EXPOSE 80 443/udp",
		"WORKDIR rel/dir",
		"RUN <<EOF\necho hi\nEOF",
		`HEALTHCHECK --interval=5s CMD ["true"]`,
		"ONBUILD RUN true",
		"SHELL [\"/bin/bash\", \"-c\"]\nRUN echo $0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, instruction string) {
		fake := newFake(t)
		fake.base(t, "alpine")
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM alpine\n"+instruction+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("print(1)\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		keys := func() []string {
			fake.rec = &trace.Buffer{}
			_, err := Build(context.Background(), fake, Options{ContextDir: dir, Explain: true})
			if err != nil {
				return nil
			}
			var out []string
			for _, ev := range fake.rec.OfType(trace.CacheProbe) {
				if ev.Cache.Reason == "" || (!ev.Cache.Hit && ev.Cache.Explanation == "") {
					t.Fatalf("probe without a reason: %+v", ev.Cache)
				}
				out = append(out, ev.Cache.Key)
			}
			return out
		}
		first, second := keys(), keys()
		if len(first) != len(second) {
			t.Fatalf("planning twice gave %d and %d probes", len(first), len(second))
		}
		for i := range first {
			if first[i] != second[i] {
				t.Fatalf("key %d not deterministic: %q vs %q", i, first[i], second[i])
			}
		}
	})
}
