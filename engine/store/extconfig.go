package store

import (
	"encoding/json"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ExtConfig holds the fields Docker writes into an image config's "config"
// object that the OCI image spec lacks. Docker, Podman and Buildah read them;
// OCI tools ignore them.
type ExtConfig struct {
	Healthcheck *HealthConfig `json:"Healthcheck,omitempty"`
	OnBuild     []string      `json:"OnBuild,omitempty"`
	Shell       []string      `json:"Shell,omitempty"`
}

// IsZero reports whether nothing is set.
func (x ExtConfig) IsZero() bool {
	return x.Healthcheck == nil && len(x.OnBuild) == 0 && len(x.Shell) == 0
}

// HealthConfig is Docker's healthcheck config; durations are nanoseconds on the wire.
type HealthConfig struct {
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// marshalConfig writes an OCI image config with the Docker extensions merged
// into its "config" object.
func marshalConfig(cfg ocispec.Image, ext ExtConfig) ([]byte, error) {
	if ext.IsZero() {
		return json.Marshal(cfg)
	}
	var top map[string]json.RawMessage
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	inner := map[string]json.RawMessage{}
	if raw, ok := top["config"]; ok {
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, err
		}
	}
	extData, err := json.Marshal(ext)
	if err != nil {
		return nil, err
	}
	var extMap map[string]json.RawMessage
	if err := json.Unmarshal(extData, &extMap); err != nil {
		return nil, err
	}
	for k, v := range extMap {
		inner[k] = v
	}
	if top["config"], err = json.Marshal(inner); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// unmarshalExt reads the Docker extensions from a config blob.
// unmarshalConfig parses an image config and Docker's extra fields in one
// pass: a config holds the image's whole history, and a cached rebuild
// parses one per step.
func unmarshalConfig(data []byte) (ocispec.Image, ExtConfig, error) {
	var both struct {
		ocispec.Image
		// Shadows Image.Config (shallower), so "config" is decoded once.
		Config struct {
			ocispec.ImageConfig
			ExtConfig
		} `json:"config"`
	}
	if err := json.Unmarshal(data, &both); err != nil {
		return ocispec.Image{}, ExtConfig{}, err
	}
	img := both.Image
	img.Config = both.Config.ImageConfig
	return img, both.Config.ExtConfig, nil
}
