package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// logOptions are the root's --log-format and --log-level: how warnings, the
// deploy command's log and the final error are written on standard error.
// Text is for people: "headroom: warning: ..." lines. JSON is one slog
// record per line, for pipelines that parse what a deploy reported.
type logOptions struct {
	format string
	level  string
}

func (o *logOptions) addFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.format, "log-format", "text", "format of warnings, logs and errors on standard error: text or json")
	f.StringVar(&o.level, "log-level", "info", "least level logged: debug, info, warn or error")
}

func (o *logOptions) validate() error {
	if err := oneOf("--log-format", o.format, "text", "json"); err != nil {
		return err
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.level)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", o.level)
	}
	return nil
}

// logger writes to w as the options say.
func (o *logOptions) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(o.level)) // validated before any command runs
	if o.format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(&textHandler{w: w, level: level})
}

type loggerKey struct{}

// cliLogger is the logger the root command put in cmd's context; one that
// discards when there is none (a command run without the root, in tests).
func cliLogger(cmd *cobra.Command) *slog.Logger {
	if l, ok := cmd.Context().Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// textHandler writes "headroom: LEVEL: message key=value ..." lines, as a
// command-line tool words its warnings; info records have no level word.
type textHandler struct {
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("headroom: ")
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		if !a.Equal(slog.Attr{}) {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Resolve())
		}
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &textHandler{w: h.w, level: h.level, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

// WithGroup is not used by headroom's commands; groups are flattened.
func (h *textHandler) WithGroup(string) slog.Handler { return h }
