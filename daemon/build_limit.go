package daemon

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errContextLimit is a build context past the daemon's limits, after
// decompression: a small gzip can expand to terabytes (a tar bomb), so the
// limits count what the tar holds, not what the client sent.
type errContextLimit struct{ what string }

func (e *errContextLimit) Error() string { return e.what }

// limitTar re-emits the tar stream r while counting its entries and the
// bytes they declare, and fails with *errContextLimit as soon as either
// passes its limit, before the bytes are written anywhere. A sparse entry
// counts its full (expanded) size: that is what COPY would read.
func limitTar(r io.Reader, maxBytes, maxEntries int64) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(copyLimitedTar(pw, r, maxBytes, maxEntries)) }()
	return pr
}

func copyLimitedTar(w io.Writer, r io.Reader, maxBytes, maxEntries int64) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	var total, entries int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		entries++
		if entries > maxEntries {
			return &errContextLimit{fmt.Sprintf("more than %d files", maxEntries)}
		}
		if hdr.Size < 0 || hdr.Size > maxBytes-total {
			return &errContextLimit{fmt.Sprintf("more than %d bytes once unpacked", maxBytes)}
		}
		total += hdr.Size
		if err := tw.WriteHeader(plainHeader(hdr)); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, tr, hdr.Size); err != nil {
			return err
		}
	}
}

// plainHeader is hdr without the records tar.Writer must not repeat (the
// sparse map, which the reader has already expanded); xattrs stay, as the
// SCHILY.xattr. records the reader also mirrors into the deprecated Xattrs
// (which the writer ignores when PAXRecords has them).
func plainHeader(hdr *tar.Header) *tar.Header {
	out := *hdr
	out.PAXRecords = nil
	for k, v := range hdr.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out.PAXRecords == nil {
				out.PAXRecords = map[string]string{}
			}
			out.PAXRecords[k] = v
		}
	}
	if out.Typeflag == tar.TypeGNUSparse {
		out.Typeflag = tar.TypeReg
	}
	out.Format = tar.FormatUnknown
	return &out
}
