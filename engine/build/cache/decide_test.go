package cache

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	parent = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	built  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	other  = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

func TestDecide(t *testing.T) {
	runKey := RunKey([]string{"/bin/sh", "-c", "make"}, nil)
	copyKey := func(sum string) string {
		return Key(CopyCmd([]string{"/bin/sh", "-c"}, "COPY", "", []string{"file:" + sum}, "/app/"))
	}
	runIn := func(c ...Entry) Input {
		return Input{Parent: parent, Keyword: "RUN", Original: "RUN make", Key: runKey, Candidates: c}
	}
	same := Entry{Key: runKey, Original: "RUN make", Image: built}
	tests := []struct {
		name        string
		in          Input
		hit         bool
		reason      string
		explanation string
		previous    string
		files       []string
	}{
		{name: "hit", in: runIn(same), hit: true, reason: ReasonHit,
			explanation: "this instruction was built on parent 111111111111 before; reusing image 222222222222"},
		{name: "hit in a recording", hit: true, reason: ReasonHit,
			in: func() Input {
				in := runIn(Entry{Key: runKey, Image: built, Build: 2, Step: 3})
				in.Recording = "the recording"
				return in
			}(),
			explanation: "this instruction was built on parent 111111111111 before (build 2, step 3): image 222222222222 would be reused"},
		{name: "no-cache wins over a hit", in: func() Input { in := runIn(same); in.NoCache = true; return in }(),
			reason: ReasonNoCache, explanation: "--no-cache was given, so every step runs"},
		{name: "parent-new", in: func() Input { in := runIn(same); in.PendingBase = "alpine"; return in }(),
			reason: ReasonParentNew, explanation: "the base image alpine is not in the store: it would be pulled first, and this step cannot be judged from the cache until it is (counted as would run)"},
		{name: "earlier-miss", in: func() Input { in := runIn(same); in.MissedAt = 2; return in }(),
			reason: ReasonEarlierMiss, explanation: "step 2 ran, so this step's parent is a brand-new image that nothing was ever built on: from the first changed step down, every step runs"},
		{name: "unknown COPY --from source", in: func() Input {
			in := runIn(same)
			in.Unknown = &UnknownSource{From: "builder", RebuiltFrom: 3}
			return in
		}(), reason: ReasonSourceChanged, explanation: "stage builder would be rebuilt from step 3: what it copies from that stage is not known until it is built"},
		{name: "image-missing", in: runIn(Entry{Key: runKey, Image: built, Gone: true}), reason: ReasonImageMissing,
			explanation: "image 222222222222 built from this instruction before has been removed"},
		{name: "new-instruction", in: runIn(), reason: ReasonNewInstruction,
			explanation: "nothing has been built on parent 111111111111 yet"},
		{name: "new-instruction on scratch", in: func() Input { in := runIn(); in.Parent = ""; return in }(),
			reason: ReasonNewInstruction, explanation: "nothing has been built on an empty (scratch) base yet"},
		{name: "new-instruction when only removed images were built",
			in: runIn(Entry{Key: "/bin/sh -c old", Original: "RUN old", Image: other, Gone: true}), reason: ReasonNewInstruction,
			explanation: "nothing has been built on parent 111111111111 yet"},
		{name: "instruction-changed", in: runIn(Entry{Key: "/bin/sh -c old", Original: "RUN old", Image: other}),
			reason: ReasonInstructionChanged, previous: "RUN old",
			explanation: "last time, parent 111111111111 was followed by `RUN old`; now the instruction is `RUN make`, which was never built on it"},
		{name: "source-changed", reason: ReasonSourceChanged, previous: "COPY . /app/", files: []string{"a", "b (removed)"},
			in: Input{Parent: parent, Keyword: "COPY", Original: "COPY . /app/", Key: copyKey("new"),
				Sums: map[string]string{"a": "2", "c": "3"},
				Candidates: []Entry{
					{Key: "/bin/sh -c make", Original: "RUN make", Image: other},
					{Key: copyKey("old"), Original: "COPY . /app/", Image: built, Sources: map[string]string{"a": "1", "b": "2", "c": "3"}},
				}},
			explanation: "a COPY source changed since it was last built on parent 111111111111: a, b (removed)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			require.Equal(t, tc.hit, d.Hit)
			require.Equal(t, tc.reason, d.Reason)
			require.Equal(t, tc.explanation, d.Explanation)
			require.Equal(t, tc.previous, d.Previous)
			require.Equal(t, tc.files, d.Files)
			if tc.hit {
				require.Equal(t, built, d.Entry.Image)
			}
		})
	}
}

// The recording's words name it, and a COPY hit warns that it cannot see
// the files.
func TestDecideRecordingWords(t *testing.T) {
	in := Input{Parent: parent, Keyword: "COPY", Original: "COPY a /a", Key: "COPY a /a", Recording: "the recording",
		Candidates: []Entry{{Key: "COPY a /a", Image: built, Build: 1, Step: 2}}}
	require.Contains(t, Decide(in).Explanation, "— if the copied files are unchanged: the recording cannot see your files")
	in.Candidates[0].Key = "RUN x"
	in.Candidates[0].Original = "RUN x"
	require.Equal(t, "in the recording, parent 111111111111 was followed by `RUN x`; `COPY a /a` was never built on it", Decide(in).Explanation)
	in.Candidates = nil
	require.Equal(t, "nothing was built on parent 111111111111 in the recording", Decide(in).Explanation)
	in.MissedAt = 4
	require.Equal(t, ReasonEarlierMiss, Decide(in).Reason)
	require.Contains(t, Decide(in).Explanation, "step 4 would run, so this step's parent would be a brand-new image")
}

func TestKeys(t *testing.T) {
	sh := []string{"/bin/sh", "-c"}
	require.Equal(t, "|2 A=1 B=2 /bin/sh -c make", RunKey(RunCmd(sh, false, nil, "make"), []string{"A=1", "B=2"}))
	require.Equal(t, "make all", RunKey(RunCmd(sh, true, []string{"make", "all"}, ""), nil))
	require.Equal(t, `/bin/sh -c #(nop)  CMD ["x"]`, Key(MetadataCmd(sh, `CMD ["x"]`)))
	require.Equal(t, "/bin/sh -c #(nop) WORKDIR /app", Key(WorkdirCmd(sh, "WORKDIR /app")))
	one := Key(CopyCmd(sh, "COPY", "--chown=1:1 ", []string{"file:abc"}, "/app/"))
	require.Equal(t, "/bin/sh -c #(nop) COPY --chown=1:1 file:abc in /app/ ", one)
	require.Equal(t, "/bin/sh -c #(nop) COPY --chown=1:1 in /app/", Group(one, map[string]string{}))
	require.Empty(t, Group(one, nil))
	multi := Key(CopyCmd(sh, "ADD", "", []string{"file:a", "dir:b"}, "/"))
	require.Regexp(t, `^/bin/sh -c #\(nop\) ADD multi:[0-9a-f]{64} in / $`, multi)
	require.Equal(t, []string{"image:sha256:x", "from:/a", "from:/b"}, CopyFromParts("sha256:x", []string{"/a", "/b"}))
}

func TestChangedFilesCapsAtTen(t *testing.T) {
	after := map[string]string{}
	for _, p := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"} {
		after[p] = "new"
	}
	got := ChangedFiles(nil, after)
	require.Len(t, got, 11)
	require.Equal(t, "and 2 more", got[10])
}
