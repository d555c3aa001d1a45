package store

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/opencontainers/image-spec/schema"
)

// The native checks must agree with image-spec's JSON schemas, which stay
// the oracle (they are used here, in tests only, so their 20 ms package
// initialiser never reaches the berth binary).

const (
	goodDigest   = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
	goodManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
	 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":7023,"digest":"` + goodDigest + `"},
	 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":32654,"digest":"` + goodDigest + `",
	            "annotations":{"a":"b"},"urls":["https://example.com/x"]}],
	 "annotations":{"org.opencontainers.image.ref.name":"latest"}}`
	goodIndex = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
	 {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":7143,"digest":"` + goodDigest + `",
	  "platform":{"architecture":"amd64","os":"linux","os.features":["x"]},"annotations":{"k":"v"}}]}`
	goodConfig = `{"created":"2026-11-27T12:00:00.123Z","author":"a","architecture":"amd64","os":"linux",
	 "config":{"User":"1:1","ExposedPorts":{"80/tcp":{}},"Env":["PATH=/bin","EMPTY="],"Entrypoint":null,"Cmd":["sh"],
	           "Volumes":null,"WorkingDir":"/","Labels":{"x":"y"},"StopSignal":"SIGTERM","ArgsEscaped":true},
	 "rootfs":{"type":"layers","diff_ids":["` + goodDigest + `"]},
	 "history":[{"created":"2026-11-27T12:00:00Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}]}`
	goodLayout = `{"imageLayoutVersion":"1.0.0"}`
)

// mutate decodes doc, applies fn to the decoded value and encodes it again.
func mutate(t *testing.T, doc string, fn func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func sub(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }
func first(m map[string]any, key string) map[string]any {
	return m[key].([]any)[0].(map[string]any)
}

func TestNativeSchemaChecksAgreeWithImageSpec(t *testing.T) {
	type doc struct {
		name string
		data string
	}
	manifests := []doc{
		{"good", goodManifest},
		{"no config", mutate(t, goodManifest, func(m map[string]any) { delete(m, "config") })},
		{"no layers", mutate(t, goodManifest, func(m map[string]any) { delete(m, "layers") })},
		{"empty layers", mutate(t, goodManifest, func(m map[string]any) { m["layers"] = []any{} })},
		{"schemaVersion 3", mutate(t, goodManifest, func(m map[string]any) { m["schemaVersion"] = 3 })},
		{"schemaVersion string", mutate(t, goodManifest, func(m map[string]any) { m["schemaVersion"] = "2" })},
		{"bad digest", mutate(t, goodManifest, func(m map[string]any) { sub(m, "config")["digest"] = "sha256" })},
		{"bad media type", mutate(t, goodManifest, func(m map[string]any) { first(m, "layers")["mediaType"] = "not a type" })},
		{"size string", mutate(t, goodManifest, func(m map[string]any) { sub(m, "config")["size"] = "12" })},
		{"size float", mutate(t, goodManifest, func(m map[string]any) { sub(m, "config")["size"] = 1.5 })},
		{"annotation not string", mutate(t, goodManifest, func(m map[string]any) { m["annotations"] = map[string]any{"a": 1} })},
		{"urls not strings", mutate(t, goodManifest, func(m map[string]any) { first(m, "layers")["urls"] = []any{1} })},
		{"descriptor missing size", mutate(t, goodManifest, func(m map[string]any) { delete(first(m, "layers"), "size") })},
		{"data not base64", mutate(t, goodManifest, func(m map[string]any) { sub(m, "config")["data"] = "!!!" })},
		{"data base64", mutate(t, goodManifest, func(m map[string]any) { sub(m, "config")["data"] = "aGk=" })},
		{"not an object", `[1,2]`},
	}
	indexes := []doc{
		{"good", goodIndex},
		{"no manifests", mutate(t, goodIndex, func(m map[string]any) { delete(m, "manifests") })},
		{"empty manifests", mutate(t, goodIndex, func(m map[string]any) { m["manifests"] = []any{} })},
		{"platform without os", mutate(t, goodIndex, func(m map[string]any) { delete(sub(first(m, "manifests"), "platform"), "os") })},
		{"platform features not strings", mutate(t, goodIndex, func(m map[string]any) {
			sub(first(m, "manifests"), "platform")["os.features"] = []any{true}
		})},
		{"manifest missing digest", mutate(t, goodIndex, func(m map[string]any) { delete(first(m, "manifests"), "digest") })},
	}
	configs := []doc{
		{"good", goodConfig},
		{"no rootfs", mutate(t, goodConfig, func(m map[string]any) { delete(m, "rootfs") })},
		{"no os", mutate(t, goodConfig, func(m map[string]any) { delete(m, "os") })},
		{"rootfs type", mutate(t, goodConfig, func(m map[string]any) { sub(m, "rootfs")["type"] = "tarball" })},
		{"rootfs no diff_ids", mutate(t, goodConfig, func(m map[string]any) { delete(sub(m, "rootfs"), "diff_ids") })},
		{"created not a date", mutate(t, goodConfig, func(m map[string]any) { m["created"] = "yesterday" })},
		{"env without =", mutate(t, goodConfig, func(m map[string]any) { sub(m, "config")["Env"] = []any{"PATH"} })},
		{"cmd string", mutate(t, goodConfig, func(m map[string]any) { sub(m, "config")["Cmd"] = "sh" })},
		{"labels not strings", mutate(t, goodConfig, func(m map[string]any) { sub(m, "config")["Labels"] = map[string]any{"a": 1} })},
		{"labels null", mutate(t, goodConfig, func(m map[string]any) { sub(m, "config")["Labels"] = nil })},
		{"exposed port not object", mutate(t, goodConfig, func(m map[string]any) {
			sub(m, "config")["ExposedPorts"] = map[string]any{"80/tcp": "x"}
		})},
		{"history empty_layer string", mutate(t, goodConfig, func(m map[string]any) { first(m, "history")["empty_layer"] = "yes" })},
		{"ArgsEscaped string", mutate(t, goodConfig, func(m map[string]any) { sub(m, "config")["ArgsEscaped"] = "true" })},
	}
	layouts := []doc{
		{"good", goodLayout},
		{"wrong version", `{"imageLayoutVersion":"2.0.0"}`},
		{"missing", `{}`},
	}
	groups := []struct {
		what     string
		docs     []doc
		official schema.Validator
		native   func([]byte) error
	}{
		{"manifest", manifests, schema.ValidatorMediaTypeManifest, CheckManifestSchema},
		{"index", indexes, schema.ValidatorMediaTypeImageIndex, CheckIndexSchema},
		{"config", configs, schema.ValidatorMediaTypeImageConfig, CheckConfigSchema},
		{"layout", layouts, schema.ValidatorMediaTypeLayoutHeader, CheckLayoutSchema},
	}
	rejected := 0
	for _, g := range groups {
		for _, d := range g.docs {
			officialErr := g.official.Validate(bytes.NewReader([]byte(d.data)))
			if g.what == "manifest" && d.name == "empty layers" {
				// The one deliberate divergence: the JSON schema's minItems
				// 1 is stricter than the spec's prose ("layers SHOULD have
				// at least one entry"), which Docker's zero-layer images
				// (FROM scratch + ENV) follow. See TestManifestWithoutLayers.
				if officialErr == nil || g.native([]byte(d.data)) != nil {
					t.Errorf("empty layers: image-spec's schema says %v, native check should accept it", officialErr)
				}
				continue
			}
			if officialErr != nil {
				rejected++
			}
			nativeErr := g.native([]byte(d.data))
			if (officialErr == nil) != (nativeErr == nil) {
				t.Errorf("%s %q: image-spec says %v, native check says %v", g.what, d.name, officialErr, nativeErr)
			}
			if d.name == "good" && nativeErr != nil {
				t.Errorf("%s: the good document fails: %v", g.what, nativeErr)
			}
		}
	}
	// The corpus must exercise rejections, not only agreement on good documents.
	if rejected < 25 {
		t.Fatalf("only %d documents were invalid per image-spec; the corpus tests too little", rejected)
	}
}
