// Command headroom is the operator's CLI: what the clusters hold and can
// still hold. main only parses flags and runs a command; each command lives
// in its own file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, documented in README.md.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCommand()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "headroom:", err)
		if _, ok := err.(usageError); ok {
			os.Exit(exitUsage)
		}
		os.Exit(exitError)
	}
}

// usageError marks errors in how headroom was called (exit code 2).
type usageError struct{ error }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "headroom",
		Short:         "What your Kubernetes clusters use, and what they can still hold",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newClustersCommand(), newInspectCommand())
	return root
}
