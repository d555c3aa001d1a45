package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// listedManifestSeeds are manifests as Berth writes them, and the shapes
// the hand decoder must leave to encoding/json or refuse with it.
func listedManifestSeeds() []string {
	d := digest.FromString("x").String()
	l := `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + d + `","size":123}`
	written, _ := json.Marshal(ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.Digest(d), Size: 42},
		Layers: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: digest.Digest(d), Size: 7}}})
	return []string{
		string(written),
		`{"schemaVersion":2,"mediaType":"m","config":{"mediaType":"c","digest":"` + d + `","size":42},"layers":[` + l + `,` + l + `],"annotations":{"a":"b"}}`,
		` { "config" : { } , "layers" : [ ] } `, `{}`, `{"layers":[]}`, `{"layers":null}`, `{"config":null}`,
		`{"config":{"digest":"a\"b"}}`, `{"config":{"digest":"é"}}`, `{"Config":{"digest":"a"}}`, `{"layers":[{"Digest":"a"}]}`,
		`{"config":{"digest":"a"},"config":{"size":1}}`, `{"layers":[{"digest":"a"}],"layers":[]}`,
		`{"config":{"size":1.5}}`, `{"config":{"size":"1"}}`, `{"layers":[{"size":1.5}]}`, `{"layers":[{"urls":["u"]}]}`,
		`{"config":{"digest":"a"},}`, `{"layers":[{"digest":"a"},]}`, `{"layers":[{"digest":"a"}`, `{"config":`,
		`{"schemaVersion":"2"}`, `{"schemaVersion":2.0}`, `{"annotations":{"a":1}}`, `{"subject":{}}`,
		`[]`, `null`, `{} x`, ``, `{"layers":{}}`, `{"config":[]}`, `{"config":{"size":99999999999999999999}}`,
	}
}

// decodeListedManifest agrees with json.Unmarshal on every seed: the same
// fields, or an error from both; the config digest is its own string.
func TestDecodeListedManifest(t *testing.T) {
	for _, seed := range listedManifestSeeds() {
		checkListedManifest(t, []byte(seed))
	}
	for _, seed := range listedManifestSeeds()[:2] {
		if !fastListedManifest(seed, new(listedManifest)) {
			t.Fatalf("a manifest as Berth writes it went to encoding/json: %s", seed)
		}
	}
	d := digest.FromString("x")
	data := []byte(`{"schemaVersion":2,"config":{"digest":"` + d.String() + `"},"layers":[{"digest":"` + d.String() + `"}]}`)
	var m listedManifest
	if !fastListedManifest(string(data), &m) {
		t.Fatalf("Berth's shape went to encoding/json: %s", data)
	}
	if err := decodeListedManifest(data, &m); err != nil || m.Config.Digest != d || len(m.Layers) != 1 || m.Layers[0].Digest != d {
		t.Fatalf("decoded %+v, %v", m, err)
	}
	copy(data, strings.Repeat("z", len(data))) // the listing reuses its buffer
	if m.Config.Digest != d {
		t.Fatalf("the config digest shares the buffer: %q", m.Config.Digest)
	}
}

// Every cut of a good manifest is refused, as json.Unmarshal refuses it,
// without a panic.
func TestDecodeListedManifestTruncated(t *testing.T) {
	good := listedManifestSeeds()[1]
	for n := range len(good) {
		var m listedManifest
		if err := decodeListedManifest([]byte(good[:n]), &m); err == nil {
			t.Fatalf("accepted %q", good[:n])
		}
	}
}

func checkListedManifest(t *testing.T, raw []byte) {
	t.Helper()
	var want, got listedManifest
	wantErr := json.Unmarshal(raw, &want)
	err := decodeListedManifest(raw, &got)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeListedManifest(%q): error %v, json.Unmarshal: %v", raw, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeListedManifest(%q) = %+v, json.Unmarshal: %+v", raw, got, want)
	}
}

func FuzzDecodeListedManifest(f *testing.F) {
	for _, seed := range listedManifestSeeds() {
		f.Add([]byte(seed))
	}
	f.Fuzz(checkListedManifest)
}

// BenchmarkDecodeListedManifest: one manifest as Berth writes it, by hand
// and with encoding/json.
func BenchmarkDecodeListedManifest(b *testing.B) {
	data := []byte(listedManifestSeeds()[1])
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m listedManifest
			if err := decodeListedManifest(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m listedManifest
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
