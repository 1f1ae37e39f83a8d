package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/sio-dev/sio/internal/profile"
	"github.com/sio-dev/sio/tui"
)

// connectTabOpener opens the UI's tabs (T): a URL, with the session's
// other flags, or @PROFILE, whose URL, path, namespace, auth, transport,
// EIO and parser replace them.
func connectTabOpener(a *app, base *connectOptions, logger *slog.Logger) tui.OpenTabFunc {
	return func(ctx context.Context, spec string) (tui.Tab, error) {
		opts := *base
		if name, ok := strings.CutPrefix(spec, "@"); ok {
			f, err := profile.Open(a.getenv)
			if err != nil {
				return tui.Tab{}, err
			}
			p, err := f.Get(name)
			if err != nil {
				return tui.Tab{}, err
			}
			if p, err = p.Resolve(a.getenv); err != nil {
				return tui.Tab{}, err
			}
			if p.URL == "" {
				return tui.Tab{}, fmt.Errorf("profile %q has no url", name)
			}
			opts.URL = p.ConnectURL()
			setIf(&opts.Path, p.Path)
			setIf(&opts.Auth, p.Auth)
			setIf(&opts.Transport, p.Transport)
			setIf(&opts.EIO, p.EIO)
			setIf(&opts.Parser, p.Parser)
		} else {
			u, err := url.Parse(spec)
			if err != nil || u.Host == "" {
				return tui.Tab{}, fmt.Errorf("%q is neither a URL (http://host:port/namespace) nor @PROFILE", spec)
			}
			switch u.Scheme {
			case "http", "https", "ws", "wss":
			default:
				return tui.Tab{}, fmt.Errorf("url %q: scheme must be http, https, ws or wss", spec)
			}
			opts.URL = spec
		}
		feed := tui.NewFeed(0)
		s := newConnectSession(&opts, feed, logger)
		s.start(ctx)
		return tui.Tab{Session: s, Feed: feed, URL: opts.URL, Namespaces: []string{s.mainNsp}}, nil
	}
}

// setIf sets *dst to v when v is set.
func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}
