// Command goserver is pkg/server running sio serve's own handlers
// (internal/behaviour, as `sio serve --echo --rooms --broadcast` with
// default acks) and nothing else: no packet log, no Tap, no dashboard, no
// recovery. bench/compare measures it next to `sio serve` and Node's
// reference server (bench/node/server.mjs) to show what the library costs
// apart from sio serve's log; bench/measure.sh and bench/profile.sh run it
// alone.
//
//		goserver [-port 3000] [-host 127.0.0.1] [-echo] [-rooms] [-broadcast] [-pprof 127.0.0.1:6060] [-memprofilerate N]
//
//	  - every event sent with an ack id is acked with its own arguments,
//	    byte for byte;
//	  - -echo: the event is emitted back to its sender;
//	  - -rooms: "join" ROOM / "leave" ROOM change membership and are acked
//	    with the sender's rooms;
//	  - -broadcast: the event is relayed to the other members of the
//	    sender's rooms, or to the whole namespace while it is in none.
//
// It prints "listening <port> pid <pid> pkg/server" once ready.
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
	"strconv"
	"syscall"

	"github.com/sio-dev/sio/internal/behaviour"
	"github.com/sio-dev/sio/pkg/server"
)

func main() {
	port := flag.Int("port", 3000, "port to listen on (0 picks one)")
	host := flag.String("host", "127.0.0.1", "address to listen on")
	echo := flag.Bool("echo", false, "emit each event back to its sender")
	rooms := flag.Bool("rooms", false, `"join" ROOM and "leave" ROOM change membership (acked, not relayed)`)
	broadcast := flag.Bool("broadcast", false, "relay each event to the other members of the sender's rooms (or the namespace)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	ioUring := flag.String("io-uring", "auto", "auto: broadcasts go out as io_uring sends, one system call for all (where the kernel allows it); off: one write(2) each")
	memRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate: record one heap sample per N bytes (0: Go's default, 512 kB)")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}

	if *ioUring != string(server.IOUringAuto) && *ioUring != string(server.IOUringOff) {
		fmt.Fprintln(os.Stderr, "goserver: -io-uring must be auto or off")
		os.Exit(2)
	}
	srv := server.New(server.Options{AllowEIO3: true, IOUring: server.IOUringMode(*ioUring)})
	b, err := behaviour.New(behaviour.Options{Echo: *echo, Rooms: *rooms, Broadcast: *broadcast})
	if err != nil {
		fmt.Fprintln(os.Stderr, "goserver:", err)
		os.Exit(2)
	}
	b.Attach(srv.Of("/"))
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "goserver:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := &http.Server{Handler: mux}
	fmt.Printf("listening %d pid %d pkg/server\n", ln.Addr().(*net.TCPAddr).Port, os.Getpid())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = hs.Serve(ln) }()
	<-ctx.Done()
	srv.Close()
	_ = hs.Close()
}
