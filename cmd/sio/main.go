// Command sio is a Socket.IO debugging tool: a server, a client, a
// one-shot emitter, a frame decoder and a load generator in one binary.
package main

import (
	"os"

	"github.com/sio-dev/sio/internal/iostreams"
)

func main() { os.Exit(run(os.Args[1:], iostreams.System())) }
