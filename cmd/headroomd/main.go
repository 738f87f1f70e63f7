// Command headroomd collects container metrics from Kubernetes clusters into
// InfluxDB. main only parses flags, builds the logger and calls app.Run.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/headroomhq/headroom/cmd/headroomd/app"
	"github.com/headroomhq/headroom/config"
	"github.com/headroomhq/headroom/internal/cpus"
)

var version = "dev"

func main() {
	fs := flag.NewFlagSet("headroomd", flag.ContinueOnError)
	cfgPath := fs.String("config", "/etc/headroom/headroomd.yaml", "configuration file")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	profiling := fs.Bool("profiling", false, "serve net/http/pprof under /debug/pprof/ on the server's address")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Println("headroomd", version)
		return
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "headroomd: -log-level %q: want debug, info, warn or error\n", *logLevel)
		os.Exit(2)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	switch *logFormat {
	case "text":
		logger = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	case "json":
		logger = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	default:
		fmt.Fprintf(os.Stderr, "headroomd: -log-format %q: want text or json\n", *logFormat)
		os.Exit(2)
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "headroomd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, app.Options{Config: cfg, Logger: logger.With("version", version), Profiling: *profiling,
		// One P while waiting on the network, all while a check runs.
		CPUs: cpus.FromEnvironment()}); err != nil {
		logger.Error("headroomd failed", "err", err)
		os.Exit(1)
	}
}
