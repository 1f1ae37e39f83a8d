package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sio-dev/sio/pkg/client"
)

// A bot that answers questions and asks one itself.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.New("http://localhost:3000/chat", client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.On("question", func(e *client.Event) {
		var q string
		_ = e.Unmarshal(0, &q)
		_ = e.Ack("42") // answers the server's ack request
	})
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err) // e.g. connect http://localhost:3000/chat: CONNECT_ERROR: unauthorized
	}
	ack, err := c.EmitWithAck(ctx, "hello", "world", []byte{1, 2, 3})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(ack.Inline()))
}

// Several namespaces on one connection.
func ExampleClient_Of() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "http://localhost:3000", client.Options{Transport: "websocket"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	admin := c.Of("/admin")
	admin.SetAuth([]byte(`{"token":"secret"}`))
	admin.OnAny(func(e *client.Event) { fmt.Println(e.Name, string(e.Inline())) })
	if err := admin.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	_ = admin.Emit("stats")
}

// Watching reconnection and connection state recovery.
func ExampleClient_OnState() {
	c, err := client.New("http://localhost:3000", client.Options{ReconnectAttempts: 10})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.OnState(func(s client.State) {
		switch s.Kind {
		case client.StateReconnectAttempt:
			log.Printf("reconnecting (attempt %d)", s.Attempt)
		case client.StateConnect:
			log.Printf("connected to %s, recovered: %v", s.Namespace, s.Recovered)
		}
	})
	if err := c.Connect(context.Background()); err != nil {
		log.Fatal(err)
	}
	<-c.Done()
}
