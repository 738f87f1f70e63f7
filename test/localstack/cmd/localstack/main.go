// Command localstack starts and stops headroom's local test stack.
//
//	localstack up [--spec FILE] [--dir DIR]   build what is missing, start, wait until ready
//	localstack down [--dir DIR]                stop exactly what up started
//	localstack status [--dir DIR]              print the state and check health
//
// The webhook and forward subcommands are the stack's own helper processes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/headroomhq/headroom/test/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "localstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: localstack up|down|status|webhook|forward [flags]")
	}
	root, _ := localstack.RepoRoot()
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", localstack.DefaultDir(root), "state directory")
	specFile := fs.String("spec", localstack.DefaultSpecFile(root), "stack spec (clusters and node pools)")
	addrFile := fs.String("addr-file", "", "webhook: write the listen address here")
	out := fs.String("out", "", "webhook: append notifications here")
	listen := fs.String("listen", "", "forward: address to listen on")
	to := fs.String("to", "", "forward: address to connect to")
	verbose := fs.Bool("v", false, "log every process start and stop")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	switch args[0] {
	case "up":
		return up(ctx, logger, root, *dir, *specFile)
	case "down":
		if err := localstack.Down(*dir, logger); err != nil {
			return err
		}
		logger.Info("local stack stopped", "dir", *dir)
		return nil
	case "status":
		st, err := localstack.LoadState(*dir)
		if err != nil {
			return err
		}
		printState(st)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := st.Check(cctx); err != nil {
			return fmt.Errorf("unhealthy: %w", err)
		}
		fmt.Println("healthy")
		return nil
	case "webhook":
		return localstack.RunWebhookRecorder(ctx, *addrFile, *out)
	case "forward":
		return localstack.RunForwarder(ctx, *listen, *to)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func up(ctx context.Context, logger *slog.Logger, root, dir, specFile string) error {
	if st, err := localstack.LoadState(dir); err == nil && st.Check(ctx) == nil {
		logger.Info("local stack already up", "dir", dir)
		printState(st)
		return nil
	}
	if err := localstack.Down(dir, logger); err != nil {
		return err
	}
	spec, err := localstack.LoadSpec(specFile)
	if err != nil {
		return err
	}
	bins, err := localstack.BuildBinaries(ctx, root, os.Stderr)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := localstack.Up(ctx, localstack.Options{Dir: dir, Spec: spec, Binaries: bins, Helper: self, Logger: logger})
	if err != nil {
		return err
	}
	logger.Info("local stack ready", "took", time.Since(start).Round(100*time.Millisecond))
	printState(st)
	return nil
}

func printState(st *localstack.State) {
	fmt.Printf("kubeconfig:    %s\n", st.Kubeconfig)
	for _, c := range st.Clusters {
		fmt.Printf("cluster %-6s %s  (kubectl --kubeconfig %s --context %s)\n", c.Name, c.Server, st.Kubeconfig, c.Context)
	}
	fmt.Printf("influxdb:      %s  (database %s)\n", st.InfluxURL, st.InfluxDatabase)
	fmt.Printf("alertmanager:  %s\n", st.AlertmanagerURL)
	fmt.Printf("webhook:       %s/received\n", st.WebhookURL)
	fmt.Printf("logs:          %s/logs\n", st.Dir)
}
