package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/berthkit/berth/engine/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layer checks share their read buffers (a pool): checks running at once,
// good and refused ones mixed, each still see only their own bytes. A
// buffer handed out while another check used it would give a wrong diff ID
// or a refusal of a sound layer (and a report under -race).
func TestCheckLayerBuffersAreNotShared(t *testing.T) {
	const layers = 6
	good := make([]testLayer, layers)
	for i := range good {
		// Over one read buffer (1 MiB) each, so every check refills it.
		good[i] = makeLayer(t, map[string]string{
			"f": string(bytes.Repeat([]byte{byte('a' + i)}, 3<<20)),
			"g": fmt.Sprint("layer ", i),
		})
	}
	truncated := good[0].blob[:len(good[0].blob)/2]
	var wg sync.WaitGroup
	errs := make(chan error, layers*3*4)
	for round := range 4 {
		for i := range layers {
			wg.Add(3)
			go func() {
				defer wg.Done()
				n, diffID, err := store.CheckLayer(bytes.NewReader(good[i].blob), ocispec.MediaTypeImageLayerGzip)
				if err != nil || n != good[i].size || diffID != good[i].diffID {
					errs <- fmt.Errorf("round %d, layer %d: %d %s %v, want %d %s", round, i, n, diffID, err, good[i].size, good[i].diffID)
				}
			}()
			go func() {
				// Refused before the decompressor exists: the media type lies.
				defer wg.Done()
				if _, _, err := store.CheckLayer(bytes.NewReader(good[i].blob), ocispec.MediaTypeImageLayerZstd); !errors.Is(err, store.ErrInvalidImage) {
					errs <- fmt.Errorf("round %d: gzip blob checked as zstd: %v", round, err)
				}
			}()
			go func() {
				// Refused halfway through the stream.
				defer wg.Done()
				if _, _, err := store.CheckLayer(bytes.NewReader(truncated), ocispec.MediaTypeImageLayerGzip); !errors.Is(err, store.ErrInvalidImage) {
					errs <- fmt.Errorf("round %d: truncated layer: %v", round, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
