//go:build !linux

package store

import "os"

// mapText reads the file at path (Linux maps it: indexmap_linux.go) and
// returns its text and the version it is; there is nothing to unmap.
func mapText(path string) (string, indexKey, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return "", indexKey{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", indexKey{}, nil, err
	}
	text, err := readFrom(f, st.Size())
	return text, indexKeyOf(st), nil, err
}
