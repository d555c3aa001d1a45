package plainfile

import (
	"bytes"
	"io/fs"
)

// ReadFile is os.ReadFile through Open: one fstat to size the buffer, then
// reads to the end. Its errors are *os.PathError naming the path.
func ReadFile(path string) ([]byte, error) {
	data, _, err := ReadFileInfo(path)
	return data, err
}

// ReadFileInfo is ReadFile also returning the file's fstat, taken on the
// open descriptor before the read: if the file is modified or replaced
// after that, the bytes may be newer than the info, never older, so a
// later stat equal to info means the bytes are still the file's (up to
// the file system's timestamp granularity). info is nil if fstat failed.
func ReadFileInfo(path string) (data []byte, info fs.FileInfo, err error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil {
		info = fi
		if fi.Mode().IsRegular() && fi.Size() > 0 {
			buf.Grow(int(fi.Size()) + bytes.MinRead)
		}
	}
	// os.File's read errors already name the path.
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), info, err
}
