// Command perfserver is pkg/server with no logging and no Tap, for
// measuring the library alone against the Node reference server
// (bench/node/server.mjs) with sio bench. It offers the same behaviours:
//
//		perfserver [-port 3000] [-echo] [-rooms] [-broadcast] [-pprof 127.0.0.1:6060] [-memprofilerate 1]
//
//	  - every event sent with an ack id is acked with its own arguments;
//	  - -echo: the event is emitted back to its sender;
//	  - -rooms: "join" ROOM / "leave" ROOM change membership and are acked;
//	  - -broadcast: the event is relayed to the other members of the sender's
//	    rooms, or to the whole namespace while it is in none.
//
// It prints "listening <port> pid <pid>" once ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with -pprof, on its own listener
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/sio-dev/sio/pkg/server"
)

func main() {
	port := flag.Int("port", 3000, "port to listen on (0 picks one)")
	echo := flag.Bool("echo", false, "emit each event back to its sender")
	rooms := flag.Bool("rooms", false, `"join" ROOM and "leave" ROOM change membership`)
	broadcast := flag.Bool("broadcast", false, "relay each event to the other sockets of the sender's rooms")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate: record one heap sample per N bytes (0: Go's default, 512 kB)")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}

	srv := server.New(server.Options{AllowEIO3: true})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.OnAny(func(ev *server.Event) { onEvent(s, ev, *echo, *rooms, *broadcast) })
	})
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "perfserver:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	fmt.Printf("listening %d pid %d\n", ln.Addr().(*net.TCPAddr).Port, os.Getpid())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = hs.Serve(ln) }()
	<-ctx.Done()
	srv.Close()
	_ = hs.Close()
}

func onEvent(s *server.Socket, ev *server.Event, echo, rooms, broadcast bool) {
	if rooms && (ev.Name == "join" || ev.Name == "leave") {
		room, err := ev.String(0)
		if err != nil {
			return
		}
		if ev.Name == "join" {
			s.Join(room)
		} else {
			s.Leave(room)
		}
		_ = ev.Ack()
		return
	}
	values := ev.Values()
	if ev.WantsAck() {
		_ = ev.Ack(values...)
	}
	if echo {
		_ = s.Emit(ev.Name, values...)
	}
	if broadcast {
		var others []string
		for _, r := range s.Rooms() {
			if r != s.ID() {
				others = append(others, r)
			}
		}
		if len(others) == 0 {
			_ = s.Broadcast().Emit(ev.Name, values...)
		} else {
			_ = s.To(others...).Emit(ev.Name, values...)
		}
	}
}
