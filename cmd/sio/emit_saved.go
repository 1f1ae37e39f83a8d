package main

import (
	"errors"
	"net/url"
	"strings"

	"github.com/sio-dev/sio/internal/saved"
)

// applySavedMessage makes `sio emit @NAME` send the message saved as NAME
// (internal/saved, in the profiles file): its event, arguments and ack,
// on its namespace, which goes in the URL's path when the URL names
// none. Other events are left alone.
func applySavedMessage(a *app, opts *emitOptions) error {
	name, ok := strings.CutPrefix(opts.Event, "@")
	if !ok {
		return nil
	}
	if len(opts.Args) > 0 {
		return usageErrorf("@%s sends the saved message as it is: no arguments after it", name)
	}
	path, err := saved.DefaultPath(a.getenv)
	if err != nil {
		return err
	}
	f, err := saved.Load(path)
	if err != nil {
		return err
	}
	msg, err := f.Get(name)
	if errors.Is(err, saved.ErrNotFound) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	words, err := msg.ArgWords()
	if err != nil {
		return err
	}
	opts.Event, opts.Args = msg.Event, words
	opts.Ack = opts.Ack || msg.Ack
	if msg.Namespace == "" || msg.Namespace == "/" {
		return nil
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		return usageErrorf("url %q: %v", opts.URL, err)
	}
	switch u.Path {
	case "", "/":
		u.Path = msg.Namespace
		opts.URL = u.String()
	case msg.Namespace:
	default:
		return usageErrorf("@%s was saved for namespace %s, and the URL names %s", name, msg.Namespace, u.Path)
	}
	return nil
}
