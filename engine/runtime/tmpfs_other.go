//go:build !linux

package runtime

// TmpfsMount is Linux's: off Linux no container runs.
func TmpfsMount(dest, options string) (Mount, error) {
	return Mount{}, ErrUnsupported
}
