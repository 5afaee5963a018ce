package regional

import (
	"context"
	"io"
	"log"
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter sends hashicorp/raft's hclog output to an *slog.Logger
// (STYLE R18: the bridge lives in regional only).
type hclogAdapter struct {
	l    *slog.Logger
	name string
	args []interface{}
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHclog(l *slog.Logger) hclog.Logger { return &hclogAdapter{l: l} }

func toSlog(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace, hclog.Debug:
		return slog.LevelDebug
	case hclog.Info:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...interface{}) {
	h.l.Log(context.Background(), toSlog(level), msg, append(h.args, args...)...)
}
func (h *hclogAdapter) Trace(msg string, args ...interface{}) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...interface{}) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...interface{})  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...interface{})  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...interface{}) { h.Log(hclog.Error, msg, args...) }
func (h *hclogAdapter) enabled(l slog.Level) bool             { return h.l.Enabled(context.Background(), l) }
func (h *hclogAdapter) IsTrace() bool                         { return h.enabled(slog.LevelDebug) }
func (h *hclogAdapter) IsDebug() bool                         { return h.enabled(slog.LevelDebug) }
func (h *hclogAdapter) IsInfo() bool                          { return h.enabled(slog.LevelInfo) }
func (h *hclogAdapter) IsWarn() bool                          { return h.enabled(slog.LevelWarn) }
func (h *hclogAdapter) IsError() bool                         { return h.enabled(slog.LevelError) }
func (h *hclogAdapter) ImpliedArgs() []interface{}            { return h.args }
func (h *hclogAdapter) With(args ...interface{}) hclog.Logger {
	return &hclogAdapter{l: h.l, name: h.name, args: append(append([]interface{}{}, h.args...), args...)}
}
func (h *hclogAdapter) Name() string { return h.name }
func (h *hclogAdapter) Named(name string) hclog.Logger {
	n := name
	if h.name != "" {
		n = h.name + "." + name
	}
	return &hclogAdapter{l: h.l.With("component", n), name: n, args: h.args}
}
func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	return &hclogAdapter{l: h.l.With("component", name), name: name, args: h.args}
}
func (h *hclogAdapter) SetLevel(hclog.Level) {}
func (h *hclogAdapter) GetLevel() hclog.Level {
	if h.IsDebug() {
		return hclog.Debug
	}
	return hclog.Info
}
func (h *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo)
}
func (h *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(nil).Writer()
}
