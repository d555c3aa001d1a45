package daemon

import (
	"archive/tar"
	"bytes"
	"fmt"
	"net/http"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/require"
)

// gzipTar is a gzip'd tar of the given entries: name → size, filled with
// zeros, which compress to almost nothing.
func gzipTar(t *testing.T, entries map[string]int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	tw := tar.NewWriter(zw)
	for name, size := range entries {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}))
		_, err := tw.Write(make([]byte, size))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// A context whose upload is small but which expands past the limit (a tar
// bomb) is refused with 413, and nothing of it stays in the store's tmp/.
func TestBuildContextLimitCountsUnpackedBytes(t *testing.T) {
	const limit = 1 << 20
	srv, hs := newTestServer(t, Options{MaxBuildContext: limit})
	bomb := gzipTar(t, map[string]int64{"Dockerfile": 13, "zeros": 64 << 20})
	require.Less(t, len(bomb), limit/4, "the bomb must be small on the wire for this test to mean anything")

	resp, body := do(t, "POST", hs.URL+"/build", bytes.NewReader(bomb))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))
	msg := errorMessage(t, body)
	require.Contains(t, msg, fmt.Sprintf("more than %d bytes once unpacked", limit))
	require.Contains(t, msg, "--max-build-context")
	entries, err := readDirNames(srv.eng.Store.TmpDir())
	require.NoError(t, err)
	require.Empty(t, entries)
}

// So is a context of too many small files.
func TestBuildContextLimitCountsEntries(t *testing.T) {
	srv, hs := newTestServer(t, Options{MaxBuildContextFiles: 10})
	files := map[string]int64{"Dockerfile": 13}
	for i := range 20 {
		files[fmt.Sprintf("f%02d", i)] = 1
	}
	resp, body := do(t, "POST", hs.URL+"/build", bytes.NewReader(gzipTar(t, files)))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, string(body))
	require.Contains(t, errorMessage(t, body), "more than 10 files")
	require.Contains(t, errorMessage(t, body), "--max-build-context-files")
	entries, err := readDirNames(srv.eng.Store.TmpDir())
	require.NoError(t, err)
	require.Empty(t, entries)
}

// Under the limits, the entries arrive unchanged (xattrs and all).
func TestLimitTarPassesWhatFits(t *testing.T) {
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "dir/", Mode: 0o755, Typeflag: tar.TypeDir}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "dir/a", Mode: 0o600, Size: 5, Typeflag: tar.TypeReg,
		PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}}))
	_, err := tw.Write([]byte("hello"))
	require.NoError(t, err)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "dir/l", Linkname: "a", Typeflag: tar.TypeSymlink}))
	require.NoError(t, tw.Close())

	out := limitTar(bytes.NewReader(in.Bytes()), 5, 3)
	defer out.Close()
	tr := tar.NewReader(out)
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
		if hdr.Name == "dir/a" {
			require.Equal(t, "v", hdr.PAXRecords["SCHILY.xattr.user.k"])
		}
	}
	require.Equal(t, []string{"dir/", "dir/a", "dir/l"}, names)
}
