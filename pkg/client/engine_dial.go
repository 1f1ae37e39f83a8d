package client

import (
	"context"
	"net/url"

	"github.com/sio-dev/sio/pkg/client/eioclient"
)

// dialEngine opens a real Engine.IO connection with pkg/client/eioclient.
func dialEngine(ctx context.Context, base *url.URL, cfg engineConfig) (engineConn, error) {
	conn, err := eioclient.Dial(ctx, base, eioclient.Options{
		Path:      cfg.Path,
		Transport: cfg.Transport,
		EIO:       cfg.EIO,
		Header:    cfg.Header,
		Query:     cfg.Query,
		TLSConfig: cfg.TLSConfig,
		Proxy:     cfg.Proxy,
		MaxQueue:  cfg.MaxQueue,
		OnMessage: cfg.OnMessage,
		OnClose:   cfg.OnClose,
		OnUpgrade: cfg.OnUpgrade,
		Tap:       cfg.Tap,
		Logger:    cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return waitingConn{conn}, nil
}

// waitingConn is an eioclient.Conn whose Close returns once the connection
// has ended (eioclient's Close only starts the close). The client closes a
// link from its own goroutines, never from an engine callback, and then
// dials again or returns from Client.Close: no engine goroutine may be left
// behind.
type waitingConn struct{ *eioclient.Conn }

func (w waitingConn) Close() error {
	err := w.Conn.Close()
	<-w.Done()
	return err
}
