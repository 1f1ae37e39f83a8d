package client_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/sio-dev/sio/pkg/client"
	"github.com/sio-dev/sio/pkg/server"
)

// A server that comes up after the client started: the client, with
// default options, keeps trying (1s, then up to 5s, with jitter) and
// connects, as socket.io-client does.
func TestConnectRetryingReachesALateServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens until the first attempt failed

	c, err := client.New("http://"+addr, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	failed := make(chan struct{})
	var once bool
	c.OnState(func(s client.State) {
		if s.Kind == client.StateConnectError && !once {
			once = true
			close(failed)
		}
	})
	errc := make(chan error, 1)
	go func() { errc <- c.ConnectRetrying(t.Context()) }()
	<-failed

	srv := server.New(server.Options{})
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	hs := &http.Server{Handler: srv}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = hs.Serve(ln)
	}()
	defer func() {
		c.Close()
		srv.Close()
		hs.Close()
		<-served
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if c.SID() == "" {
		t.Error("connected without a socket id")
	}
}
