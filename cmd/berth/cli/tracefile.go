package cli

import (
	"fmt"
	"os"
)

func createTraceFile(path string) (*os.File, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	return f, nil
}
