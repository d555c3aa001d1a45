// Command berth is a container image builder and runtime that explains what
// it does. See the README and docs/.
package main

import (
	"os"

	_ "github.com/berthkit/berth/internal/stackstart"

	"github.com/berthkit/berth/cmd/berth/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
