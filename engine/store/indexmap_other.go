//go:build !linux

package store

// mapText reads the file at path (Linux maps it: indexmap_linux.go) and
// returns its text and the version it is; there is nothing to unmap.
func mapText(path string) (string, indexKey, func(), error) {
	f, st, err := openStat(path)
	if err != nil {
		return "", indexKey{}, nil, err
	}
	defer f.Close()
	text, err := readFrom(f, st.Size())
	return text, indexKeyOf(st), nil, err
}
