// Command headroom is the operator's CLI: what the clusters hold and can
// still hold. main only parses flags and runs a command; each command lives
// in its own file.
package main

import (
	"context"
	"errors"
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
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logs := &logOptions{format: "text", level: "info"}
	root := newRootCommand(logs)
	err := root.ExecuteContext(ctx)
	if msg := errorMessage(err); msg != "" {
		if logs.format == "json" && logs.validate() == nil {
			logs.logger(os.Stderr).Error(msg, "exit_code", exitCode(err))
		} else {
			fmt.Fprintln(os.Stderr, "headroom:", msg)
		}
	}
	stop()
	os.Exit(exitCode(err))
}

// usageError marks errors in how headroom was called (exit code 2).
type usageError struct{ error }

// usageArgs makes an argument-count error a usage error (exit code 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// exitError ends headroom with a chosen exit code, as `headroom check` does
// with its verdict. Err says why, or is nil when the command's output
// already has.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitError) Unwrap() error { return e.err }

// exitCode is the process exit status for what a command returned.
func exitCode(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, new(usageError)):
		return exitUsage
	}
	return exitFailure
}

// errorMessage is what main prints for err on standard error; "" for none.
func errorMessage(err error) string {
	var ee exitError
	if err == nil || errors.As(err, &ee) && ee.err == nil {
		return ""
	}
	return err.Error()
}

func newRootCommand(logs *logOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "headroom",
		Short:         "What your Kubernetes clusters use, and what they can still hold",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := logs.validate(); err != nil {
				return usageError{err}
			}
			cmd.SetContext(context.WithValue(cmd.Context(), loggerKey{}, logs.logger(cmd.ErrOrStderr())))
			return nil
		},
	}
	logs.addFlags(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newClustersCommand(), newInspectCommand(), newCheckCommand(), newForecastCommand(),
		newDeployCommand(), newReconfigureCommand(), newTopCommand())
	return root
}
