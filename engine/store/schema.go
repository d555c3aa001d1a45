package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The OCI JSON schemas (image-spec/schema), checked natively.
//
// image-spec's schema package validates with a JSON-schema library whose
// package initialiser compiles every draft's metaschema: about 20 ms added
// to every berth command, even `berth version`. These functions check the
// same rules as the schemas of image-spec v1.1 (manifest, index, content
// descriptor, config, image layout) without a schema engine; schema_test.go
// runs both over a corpus of valid and broken documents and requires them
// to agree, so the official schemas remain the oracle.

// The patterns compile on first use: every berth process, a container's
// init included, would otherwise pay for them at start.
var (
	schemaMediaType = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`)
	schemaDigest    = lazyRegexp(`^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)
	schemaEnv       = lazyRegexp(`^[^=]+=.*$`)
)

type lazyRE struct{ get func() *regexp.Regexp }

func lazyRegexp(expr string) lazyRE {
	return lazyRE{get: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
}

func (l lazyRE) MatchString(s string) bool { return l.get().MatchString(s) }

type schemaChecker struct {
	problems []string
}

func (c *schemaChecker) addf(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

func (c *schemaChecker) err(what string) error {
	if len(c.problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", what, strings.Join(c.problems, "; "))
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func (c *schemaChecker) object(path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.addf(path, "must be an object")
	}
	return m, ok
}

func (c *schemaChecker) required(path string, m map[string]any, keys ...string) {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			c.addf(path, "%s is required", k)
		}
	}
}

func (c *schemaChecker) str(path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.addf(path, "must be a string")
	}
	return s, ok
}

func (c *schemaChecker) optString(path string, m map[string]any, key string) {
	if v, ok := m[key]; ok {
		c.str(path+"."+key, v)
	}
}

func (c *schemaChecker) integer(path string, v any, min, max int64) {
	n, ok := v.(json.Number)
	if !ok {
		c.addf(path, "must be an integer")
		return
	}
	i, err := n.Int64()
	if err != nil {
		c.addf(path, "must be an integer")
		return
	}
	if i < min || i > max {
		c.addf(path, "must be between %d and %d", min, max)
	}
}

func (c *schemaChecker) mediaType(path string, v any) {
	if s, ok := c.str(path, v); ok && !schemaMediaType.MatchString(s) {
		c.addf(path, "%q is not a media type", s)
	}
}

func (c *schemaChecker) stringArray(path string, v any, nullOK bool) {
	if v == nil && nullOK {
		return
	}
	arr, ok := v.([]any)
	if !ok {
		c.addf(path, "must be an array of strings")
		return
	}
	for i, item := range arr {
		c.str(fmt.Sprintf("%s[%d]", path, i), item)
	}
}

func (c *schemaChecker) mapOf(path string, v any, nullOK bool, valueIsObject bool) {
	if v == nil && nullOK {
		return
	}
	m, ok := c.object(path, v)
	if !ok {
		return
	}
	for k, val := range m {
		if k == "" {
			continue // the schemas' patternProperties match names of one character or more
		}
		if valueIsObject {
			if _, ok := val.(map[string]any); !ok {
				c.addf(path+"."+k, "must be an object")
			}
		} else if _, ok := val.(string); !ok {
			c.addf(path+"."+k, "must be a string")
		}
	}
}

func (c *schemaChecker) dateTime(path string, v any) {
	s, ok := c.str(path, v)
	if ok {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			c.addf(path, "%q is not an RFC 3339 date-time", s)
		}
	}
}

// descriptor checks content-descriptor.json (and the index's manifest
// descriptor, which adds platform).
func (c *schemaChecker) descriptor(path string, v any, withPlatform bool) {
	m, ok := c.object(path, v)
	if !ok {
		return
	}
	c.required(path, m, "mediaType", "size", "digest")
	if mt, ok := m["mediaType"]; ok {
		c.mediaType(path+".mediaType", mt)
	}
	if size, ok := m["size"]; ok {
		c.integer(path+".size", size, -1<<63, 1<<63-1)
	}
	if d, ok := m["digest"]; ok {
		if s, ok := c.str(path+".digest", d); ok && !schemaDigest.MatchString(s) {
			c.addf(path+".digest", "%q is not a digest", s)
		}
	}
	if u, ok := m["urls"]; ok {
		c.stringArray(path+".urls", u, false)
	}
	if a, ok := m["annotations"]; ok {
		c.mapOf(path+".annotations", a, false, false)
	}
	if !withPlatform {
		if d, ok := m["data"]; ok {
			if s, ok := c.str(path+".data", d); ok {
				if _, err := base64.StdEncoding.DecodeString(s); err != nil {
					c.addf(path+".data", "is not base64")
				}
			}
		}
		if at, ok := m["artifactType"]; ok {
			c.mediaType(path+".artifactType", at)
		}
		return
	}
	if p, ok := m["platform"]; ok {
		pm, ok := c.object(path+".platform", p)
		if ok {
			c.required(path+".platform", pm, "architecture", "os")
			for _, k := range []string{"architecture", "os", "os.version", "variant"} {
				c.optString(path+".platform", pm, k)
			}
			if f, ok := pm["os.features"]; ok {
				c.stringArray(path+".platform.os.features", f, false)
			}
		}
	}
}

func (c *schemaChecker) topLevel(path string, m map[string]any) {
	if v, ok := m["schemaVersion"]; ok {
		c.integer(path+".schemaVersion", v, 2, 2)
	}
	for _, k := range []string{"mediaType", "artifactType"} {
		if v, ok := m[k]; ok {
			c.mediaType(path+"."+k, v)
		}
	}
	if v, ok := m["subject"]; ok {
		c.descriptor(path+".subject", v, false)
	}
	if v, ok := m["annotations"]; ok {
		c.mapOf(path+".annotations", v, false, false)
	}
}

// CheckManifestSchema checks an image manifest against image-manifest-schema.json.
func CheckManifestSchema(data []byte) error {
	c := &schemaChecker{}
	v, err := decodeJSON(data)
	if err != nil {
		return fmt.Errorf("manifest is not JSON: %w", err)
	}
	if m, ok := c.object("manifest", v); ok {
		c.required("manifest", m, "schemaVersion", "config", "layers")
		c.topLevel("manifest", m)
		if cfg, ok := m["config"]; ok {
			c.descriptor("manifest.config", cfg, false)
		}
		if layers, ok := m["layers"]; ok {
			arr, ok := layers.([]any)
			// An empty array is allowed: image-spec's prose says layers
			// SHOULD (not MUST) have an entry, "for portability", and Docker
			// builds such images (FROM scratch with metadata steps only).
			// The spec's JSON schema says minItems 1; the prose governs.
			if !ok {
				c.addf("manifest.layers", "must be an array")
			}
			for i, l := range arr {
				c.descriptor(fmt.Sprintf("manifest.layers[%d]", i), l, false)
			}
		}
	}
	return c.err("manifest does not match the OCI schema")
}

// CheckIndexSchema checks an image index against image-index-schema.json.
func CheckIndexSchema(data []byte) error {
	c := &schemaChecker{}
	v, err := decodeJSON(data)
	if err != nil {
		return fmt.Errorf("index is not JSON: %w", err)
	}
	if m, ok := c.object("index", v); ok {
		c.required("index", m, "schemaVersion", "manifests")
		c.topLevel("index", m)
		if ms, ok := m["manifests"]; ok {
			arr, ok := ms.([]any)
			if !ok {
				c.addf("index.manifests", "must be an array")
			}
			for i, d := range arr {
				c.descriptor(fmt.Sprintf("index.manifests[%d]", i), d, true)
			}
		}
	}
	return c.err("index does not match the OCI schema")
}

// CheckLayoutSchema checks an oci-layout file against image-layout-schema.json.
func CheckLayoutSchema(data []byte) error {
	c := &schemaChecker{}
	v, err := decodeJSON(data)
	if err != nil {
		return fmt.Errorf("oci-layout is not JSON: %w", err)
	}
	if m, ok := c.object("oci-layout", v); ok {
		c.required("oci-layout", m, "imageLayoutVersion")
		if ver, ok := m["imageLayoutVersion"]; ok {
			if s, ok := c.str("oci-layout.imageLayoutVersion", ver); ok && s != "1.0.0" {
				c.addf("oci-layout.imageLayoutVersion", "must be 1.0.0")
			}
		}
	}
	return c.err("oci-layout does not match the OCI schema")
}

// CheckConfigSchema checks an image config against config-schema.json.
func CheckConfigSchema(data []byte) error {
	c := &schemaChecker{}
	v, err := decodeJSON(data)
	if err != nil {
		return fmt.Errorf("config is not JSON: %w", err)
	}
	m, ok := c.object("config", v)
	if !ok {
		return c.err("config does not match the OCI schema")
	}
	c.required("config", m, "architecture", "os", "rootfs")
	if cr, ok := m["created"]; ok {
		c.dateTime("config.created", cr)
	}
	for _, k := range []string{"author", "architecture", "variant", "os", "os.version"} {
		c.optString("config", m, k)
	}
	if f, ok := m["os.features"]; ok {
		c.stringArray("config.os.features", f, false)
	}
	if cfg, ok := m["config"]; ok {
		if cm, ok := c.object("config.config", cfg); ok {
			c.execConfig(cm)
		}
	}
	if rootfs, ok := m["rootfs"]; ok {
		if rm, ok := c.object("config.rootfs", rootfs); ok {
			c.rootFS(rm)
		}
	}
	if h, ok := m["history"]; ok {
		c.history(h)
	}
	return c.err("config does not match the OCI schema")
}

// execConfig checks a config's "config" object (the container defaults).
func (c *schemaChecker) execConfig(cm map[string]any) {
	for _, k := range []string{"User", "WorkingDir", "StopSignal"} {
		c.optString("config.config", cm, k)
	}
	if v, ok := cm["ExposedPorts"]; ok {
		c.mapOf("config.config.ExposedPorts", v, false, true)
	}
	if v, ok := cm["Env"]; ok {
		c.stringArray("config.config.Env", v, false)
		// image-spec's validator also requires KEY=VALUE entries.
		if arr, ok := v.([]any); ok {
			for i, e := range arr {
				if s, ok := e.(string); ok && !schemaEnv.MatchString(s) {
					c.addf(fmt.Sprintf("config.config.Env[%d]", i), "unexpected env: %q", s)
				}
			}
		}
	}
	for _, k := range []string{"Entrypoint", "Cmd"} {
		if v, ok := cm[k]; ok {
			c.stringArray("config.config."+k, v, true)
		}
	}
	if v, ok := cm["Volumes"]; ok {
		c.mapOf("config.config.Volumes", v, true, true)
	}
	if v, ok := cm["Labels"]; ok {
		c.mapOf("config.config.Labels", v, true, false)
	}
	if v, ok := cm["ArgsEscaped"]; ok {
		if _, ok := v.(bool); !ok {
			c.addf("config.config.ArgsEscaped", "must be a boolean")
		}
	}
}

// rootFS checks a config's "rootfs" object.
func (c *schemaChecker) rootFS(rm map[string]any) {
	c.required("config.rootfs", rm, "diff_ids", "type")
	if d, ok := rm["diff_ids"]; ok {
		c.stringArray("config.rootfs.diff_ids", d, false)
	}
	if t, ok := rm["type"]; ok {
		if s, ok := c.str("config.rootfs.type", t); ok && s != "layers" {
			c.addf("config.rootfs.type", "must be \"layers\"")
		}
	}
}

// history checks a config's "history" array.
func (c *schemaChecker) history(h any) {
	arr, ok := h.([]any)
	if !ok {
		c.addf("config.history", "must be an array")
	}
	for i, item := range arr {
		path := fmt.Sprintf("config.history[%d]", i)
		hm, ok := c.object(path, item)
		if !ok {
			continue
		}
		if cr, ok := hm["created"]; ok {
			c.dateTime(path+".created", cr)
		}
		for _, k := range []string{"author", "created_by", "comment"} {
			c.optString(path, hm, k)
		}
		if e, ok := hm["empty_layer"]; ok {
			if _, ok := e.(bool); !ok {
				c.addf(path+".empty_layer", "must be a boolean")
			}
		}
	}
}
