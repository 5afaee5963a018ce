// Command meridian is Meridian's one binary: the server and its
// operator's CLI. See ops for the subcommands.
package main

import (
	"os"

	"github.com/meridian-kv/meridian/ops"
)

func main() { os.Exit(ops.Main(os.Args[1:])) }
