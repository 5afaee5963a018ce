// Package ops is the composition root: the meridian CLI, configuration,
// metrics and health endpoints.
package ops

import (
	"fmt"
	"os"
)

// Main runs the meridian CLI with args (without the program name) and
// returns the process exit code.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "meridian: not yet wired")
	return 2
}
