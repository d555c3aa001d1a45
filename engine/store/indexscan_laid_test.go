package store

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// laidEntry is one entry as writeIndex lays it out inside the array.
func laidEntry(t *testing.T, d ocispec.Descriptor) string {
	t.Helper()
	raw, err := json.MarshalIndent(d, "    ", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// scanLaidOut, where it answers, answers as scanEntry: on entries as
// Berth writes them (which it must answer, or every build walks each
// byte again) and on each way an entry can differ from that layout, which
// it must leave to scanEntry or read the same.
func TestScanLaidOutAgrees(t *testing.T) {
	id, ref := digest.FromString("cfg").String(), "docker.io/library/busybox:latest"
	full := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 405,
		Annotations: map[string]string{AnnotationID: id, ocispec.AnnotationRefName: ref, AnnotationSize: "2138112"}}
	bare := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 7}
	idOnly := full
	idOnly.Annotations = map[string]string{AnnotationID: id}
	canonical := map[string]string{"full": laidEntry(t, full), "no annotations": laidEntry(t, bare), "id only": laidEntry(t, idOnly)}
	for name, text := range canonical {
		sum, ok := scanLaidOut(text, 0)
		if !ok {
			t.Fatalf("%s: scanLaidOut declined an entry as writeIndex writes it:\n%s", name, text)
		}
		agree(t, name, text, sum)
	}
	f := canonical["full"]
	refLine := `"` + ocispec.AnnotationRefName + `": "` + ref + `"`
	for name, text := range map[string]string{
		"dup ref":       strings.Replace(f, refLine, refLine+",\n        "+refLine[:len(refLine)-2]+`2"`, 1),
		"dup id":        strings.Replace(f, `"`+AnnotationID+`"`, `"`+AnnotationID+`": "x",`+"\n        "+`"`+AnnotationID+`"`, 1),
		"empty digest":  strings.Replace(f, full.Digest.String(), "", 1),
		"cased digest":  strings.Replace(f, `"digest"`, `"Digest"`, 1),
		"urls":          strings.Replace(f, `"size": 405,`, `"size": 405,`+"\n      \"urls\": [\"u\"],", 1),
		"platform":      strings.Replace(f, "\n      }\n    }", "\n      },\n      \"platform\": {\"digest\": \"q\"}\n    }", 1),
		"negative size": strings.Replace(f, "405", "-405", 1),
		"string size":   strings.Replace(f, "405", `"405"`, 1),
		"float size":    strings.Replace(f, "405", "4.5", 1),
		"no size":       strings.Replace(f, "405", "", 1),
		"number id":     strings.Replace(f, `"`+id+`"`, "5", 1),
		"tabs":          strings.ReplaceAll(f, "  ", "\t"),
		"minified":      `{"mediaType":"x","digest":"` + full.Digest.String() + `","size":1,"annotations":{` + strings.ReplaceAll(refLine, `": "`, `":"`) + `}}`,
		"nested ann":    strings.Replace(f, refLine, `"x": {"`+ocispec.AnnotationRefName+`": "n:1"}`, 1),
		"truncated":     f[:len(f)-3],
		"no close":      strings.TrimSuffix(f, "}"),
		"empty ann":     strings.Replace(laidEntry(t, bare), "\n    }", ",\n      \"annotations\": {}\n    }", 1),
	} {
		sum, ok := scanLaidOut(text, 0)
		if ok {
			agree(t, name, text, sum)
		}
	}
}

// agree fails unless scanEntry summarises text as sum.
func agree(t *testing.T, name, text string, sum entrySum) {
	t.Helper()
	want, ok := scanEntry(text, 0)
	if !ok || want != sum {
		t.Fatalf("%s: scanLaidOut = %+v, scanEntry = %+v (%v)\n%s", name, sum, want, ok, text)
	}
}

// has answers the same before and after it builds its map of digests.
func TestRawViewHasBeforeAndAfterItsMap(t *testing.T) {
	text := string(cacheTestIndex(20))
	v, ok := scanIndex(text)
	if !ok {
		t.Fatal("scanIndex declined a canonical index")
	}
	absent := digest.FromString("absent").String()
	for round := range hasMapAfter + 3 {
		if !v.has(v.sums[round%len(v.sums)].digest) || v.has(absent) {
			t.Fatalf("round %d (map made: %v): has is wrong", round, v.digests != nil)
		}
	}
	if v.digests == nil {
		t.Fatalf("no map after %d calls", 2*(hasMapAfter+3))
	}
}

func TestSameText(t *testing.T) {
	a := digest.FromString("a").String()
	for _, c := range []struct {
		a, b string
		want bool
	}{{a, a, true}, {a, strings.Clone(a), true}, {"", "", true}, {a, "", false}, {a, a[:len(a)-1] + "x", false},
		{"xb", "yb", false}, {"ab", "a", false}} {
		if got := sameText(c.a, c.b); got != c.want {
			t.Errorf("sameText(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// shift moves sum's bounds by d.
func shift(sum entrySum, d int) entrySum {
	sum.start, sum.end = sum.start+d, sum.end+d
	return sum
}
