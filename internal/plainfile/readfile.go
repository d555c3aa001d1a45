package plainfile

import (
	"bytes"
)

// ReadFile is os.ReadFile through Open: one fstat to size the buffer, then
// reads to the end. Its errors are *os.PathError naming the path.
func ReadFile(path string) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		buf.Grow(int(fi.Size()) + bytes.MinRead)
	}
	// os.File's read errors already name the path.
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), err
}
