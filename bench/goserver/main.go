// Command goserver is pkg/server with the handlers of `sio serve --echo
// --rooms --broadcast` and default acks, and nothing else: no per-packet
// log, no TUI, no recovery. bench/compare measures it next to `sio serve`
// to show what the library costs apart from sio serve's packet log.
//
//	goserver [-port 3000] [-host 127.0.0.1] [-echo] [-rooms] [-broadcast]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/sio-dev/sio/pkg/server"
)

func main() {
	port := flag.Int("port", 3000, "port")
	host := flag.String("host", "127.0.0.1", "address")
	echo := flag.Bool("echo", false, "emit each event back to its sender")
	rooms := flag.Bool("rooms", false, `"join" ROOM / "leave" ROOM (acked, not relayed)`)
	broadcast := flag.Bool("broadcast", false, "relay each event to the other members of the sender's rooms (or the namespace)")
	flag.Parse()

	srv := server.New(server.Options{AllowEIO3: true})
	srv.Of("/").OnConnection(func(s *server.Socket) {
		s.OnAny(func(ev *server.Event) {
			if *rooms && (ev.Name == "join" || ev.Name == "leave") && ev.Len() == 1 {
				if room, err := ev.String(0); err == nil {
					if ev.Name == "join" {
						s.Join(room)
					} else {
						s.Leave(room)
					}
					if ev.WantsAck() {
						ev.Ack()
					}
					return
				}
			}
			args := make([]any, len(ev.Raw))
			for i, r := range ev.Raw {
				args[i] = json.RawMessage(r)
			}
			if ev.WantsAck() {
				ev.Ack(args...)
			}
			if *echo {
				s.Emit(ev.Name, args...)
			}
			if *broadcast {
				var to []string
				for _, r := range s.Rooms() {
					if r != s.ID() {
						to = append(to, r)
					}
				}
				if len(to) > 0 {
					s.To(to...).Emit(ev.Name, args...)
				} else {
					s.Broadcast().Emit(ev.Name, args...)
				}
			}
		})
	})
	l, err := net.Listen("tcp", net.JoinHostPort(*host, fmt.Sprint(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "goserver:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		l.Close()
		os.Exit(0)
	}()
	fmt.Printf("listening %d pid %d pkg/server\n", l.Addr().(*net.TCPAddr).Port, os.Getpid())
	hs.Serve(l)
}
