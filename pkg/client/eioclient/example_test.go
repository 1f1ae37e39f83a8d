package eioclient_test

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/sio-dev/sio/pkg/client/eioclient"
	"github.com/sio-dev/sio/pkg/protocol"
)

// Dial a server, send one message and make sure it left before closing,
// as `sio emit` does.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, _ := url.Parse("http://localhost:3000")
	conn, err := eioclient.Dial(ctx, u, eioclient.Options{
		OnMessage: func(data []byte, binary bool) { fmt.Printf("got %q\n", data) },
		OnClose:   func(r protocol.DisconnectReason, err error) { fmt.Println("closed:", r) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println("session", conn.SID(), "over", conn.Transport(), conn.EIO())
	if err := conn.Send(protocol.EnginePacket{Type: protocol.EngineMessage, Data: []byte(`2["hello"]`)}); err != nil {
		fmt.Println(err)
		return
	}
	if err := conn.Flush(ctx); err != nil {
		fmt.Println(err)
	}
}
