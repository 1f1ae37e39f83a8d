package tui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	tea "charm.land/bubbletea/v2"
)

// RunClient runs the client session UI until the user quits or ctx ends,
// then closes the session. It owns the terminal meanwhile (alternate
// screen) and restores it on return. Quitting is not an error: the result
// is nil unless the terminal could not be used.
func RunClient(ctx context.Context, o ClientOptions) error {
	if o.Session == nil || o.Feed == nil {
		return errors.New("tui: RunClient needs a Session and a Feed")
	}
	logger := orDiscard(o.Logger)
	o.Marks = loadMarks(logger, o.MarksFile, o.Marks)
	var tabs *tabsModel
	err := runModel(ctx, logger, o.HistoryFile, o.ProgramOptions, func(ctx context.Context, history []HistoryItem) tea.Model {
		if o.OpenTab != nil {
			tabs = newTabsModel(ctx, NewCommon(o.Color, 80, 24), o, history)
			tabs.statusTTL = DefaultStatusTimeout
			tabs.tabs[0].m.statusTTL = DefaultStatusTimeout
			return tabs
		}
		m := newClientModel(ctx, NewCommon(o.Color, 80, 24), o, history)
		m.statusTTL = DefaultStatusTimeout
		return m
	})
	if tabs != nil {
		tabs.closeExtra()
	}
	if cerr := o.Session.Close(); cerr != nil {
		logger.Warn("close session", "err", cerr)
	}
	return err
}

// RunServer runs the server dashboard until the user quits or ctx ends.
// It does not stop the server: the caller does, after RunServer returns.
func RunServer(ctx context.Context, o ServerOptions) error {
	if o.Control == nil || o.Feed == nil {
		return errors.New("tui: RunServer needs a Control and a Feed")
	}
	o.Marks = loadMarks(orDiscard(o.Logger), o.MarksFile, o.Marks)
	return runModel(ctx, orDiscard(o.Logger), o.HistoryFile, o.ProgramOptions, func(ctx context.Context, history []HistoryItem) tea.Model {
		m := newServerModel(ctx, NewCommon(o.Color, 80, 24), o, history)
		m.statusTTL = DefaultStatusTimeout
		return m
	})
}

// loadMarks reads the marks file when there is one; a file that cannot
// be read leaves the marks given (it is rewritten at the next change).
func loadMarks(logger *slog.Logger, path string, m EventMarks) EventMarks {
	if path == "" {
		return m
	}
	loaded, err := LoadMarks(path)
	if err != nil {
		logger.Warn("load marks", "path", path, "err", err)
		return m
	}
	return loaded
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// runModel loads the composer history, builds the model with a context
// that ends when the program does (its commands give up then), and runs it.
func runModel(ctx context.Context, logger *slog.Logger, historyFile string, extra []tea.ProgramOption,
	newModel func(ctx context.Context, history []HistoryItem) tea.Model) error {
	history, err := LoadHistory(historyFile)
	if err != nil {
		logger.Warn("load history", "path", historyFile, "err", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	return run(ctx, newModel(runCtx, history), extra)
}

func run(ctx context.Context, m tea.Model, extra []tea.ProgramOption) error {
	p := tea.NewProgram(m, extra...)
	// Stop through a quit message rather than tea.WithContext: a killed
	// program does not wait for its input reader, and that goroutine would
	// outlive the call.
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			p.Quit()
		case <-done:
		}
	}()
	_, err := p.Run()
	close(done)
	<-stopped
	if err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}
