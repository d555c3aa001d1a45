package registry

import (
	"runtime"
	"testing"
)

func TestParsePlatform(t *testing.T) {
	cases := map[string]string{
		"linux/amd64":    "linux/amd64",
		"linux/arm64/v8": "linux/arm64",
		"arm64":          "linux/arm64",
		"linux/x86_64":   "linux/amd64",
		"linux/aarch64":  "linux/arm64",
		"LINUX/ARM/V7":   "linux/arm/v7",
	}
	for in, want := range cases {
		p, err := ParsePlatform(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePlatform(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"linux/", "a/b/c/d", "/amd64"} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", bad)
		}
	}
	if p, _ := ParsePlatform(""); p.OS != "linux" || p.Architecture != runtime.GOARCH {
		t.Errorf("default platform %v", p)
	}
}

func TestSelectManifest(t *testing.T) {
	index := []byte(`{"schemaVersion":2,"manifests":[
	 {"digest":"sha256:` + hex64('a') + `","size":1,"platform":{"os":"linux","architecture":"amd64"}},
	 {"digest":"sha256:` + hex64('b') + `","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v6"}},
	 {"digest":"sha256:` + hex64('c') + `","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}},
	 {"digest":"sha256:` + hex64('d') + `","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
	 {"digest":"sha256:` + hex64('e') + `","size":1,"platform":{"os":"unknown","architecture":"unknown"}}
	]}`)
	cases := map[string]byte{"linux/amd64": 'a', "linux/arm/v7": 'c', "linux/arm/v6": 'b', "linux/arm64": 'd', "linux/arm64/v8": 'd'}
	for plat, want := range cases {
		p, _ := ParsePlatform(plat)
		d, err := SelectManifest(index, p)
		if err != nil || d.Digest.Encoded() != hex64(want) {
			t.Errorf("%s: got %v %v, want %c", plat, d.Digest, err, want)
		}
	}
	p, _ := ParsePlatform("linux/ppc64le")
	if _, err := SelectManifest(index, p); err == nil || err.Error() != "no matching manifest for linux/ppc64le in the manifest list entries (choose another with --platform)" {
		t.Errorf("got %v", err)
	}
}

func hex64(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
