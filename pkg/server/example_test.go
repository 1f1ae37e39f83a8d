package server_test

import (
	"net/http"

	"github.com/sio-dev/sio/pkg/server"
)

// A chat server: every message a client sends is relayed to the others.
func Example() {
	srv := server.New(server.Options{})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.On("chat", func(e *server.Event) {
			_ = s.Broadcast().Emit("chat", e.Values()...)
		})
	})
	http.Handle("/socket.io/", srv)
	// http.ListenAndServe(":3000", nil)
}
