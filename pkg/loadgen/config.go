package loadgen

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Scenario names.
const (
	ScenarioConnect = "connect"
	ScenarioEmit    = "emit"
	ScenarioAck     = "ack"
	ScenarioEcho    = "echo"
	ScenarioFanout  = "fanout"
)

// Scenarios lists the scenario names in the order the help shows them.
var Scenarios = []string{ScenarioConnect, ScenarioEmit, ScenarioAck, ScenarioEcho, ScenarioFanout}

// Config describes one load run. The zero value of each field is its
// documented default.
type Config struct {
	// URL is the server; its path is the namespace ("http://host:3000/admin").
	URL string
	// MoreURLs are further servers of the same kind and namespace (several
	// server processes, to go past one process's open-file limit): clients
	// are spread over URL and MoreURLs in turn.
	MoreURLs []string
	// Path is the Engine.IO path. Default "/socket.io/".
	Path string
	// Transport is "websocket" (default: the lean WebSocket path, every
	// scenario at full speed), "polling" (lean HTTP long-polling, one
	// kept-alive connection each for GET and POST) or "auto" (polling
	// upgraded to WebSocket, like socket.io-client, through
	// pkg/client/eioclient). The engine path costs more CPU per message;
	// its polling pool takes SourceAddrs in turn for each new connection,
	// and each client's WebSocket comes from that client's address.
	Transport string
	// IO picks how the WebSocket connections of ack and echo's closed
	// loop (Rate 0) are read and written: IOEpoll (Linux; the default there
	// for them) serves them from a few epoll event loops, one read per round
	// trip, the requests of one pass over the ready sockets sent with one
	// io_uring submission (write(2) where io_uring is unavailable);
	// IOEpollNoUring is the same loops with one write(2) per connection
	// and pass; IONetpoll keeps a goroutine per connection on Go's
	// netpoller, the path of every other case (other scenarios, polling,
	// TLS, other systems). "" is the default.
	IO string
	// EIO is the protocol revision; 0 detects it with one probe connection
	// (v4 first, then v3).
	EIO protocol.EIO
	// Parser is the Socket.IO packet format: "json" (socket.io-parser,
	// every server's default) or "msgpack" (a server built with
	// socket.io-msgpack-parser: each packet one msgpack map in a binary
	// message). Default "json".
	Parser string
	// Auth is the CONNECT payload for v4 servers (a JSON object), nil for none.
	Auth json.RawMessage
	// Query and Header go on every handshake request.
	Query  url.Values
	Header http.Header
	// TLSConfig is used for https/wss URLs.
	TLSConfig *tls.Config

	// Scenario is one of Scenarios. Default "ack".
	Scenario string
	// Clients is the number of connections. Default 1 (fanout: 2).
	Clients int
	// Rate paces the load: for connect, new connections per second; for
	// fanout, broadcasts per second; otherwise events per second per
	// client. 0 is as fast as possible: ack, echo and fanout then keep
	// Inflight requests outstanding per client (a closed loop), emit writes
	// as fast as the connection accepts.
	Rate float64
	// Duration is how long the load (or, for connect, the hold) lasts after
	// every connection is open. Default 10s, unless Messages is set.
	Duration time.Duration
	// Ramp spreads the opening of the connections evenly over this time.
	// Default 0: open them as fast as ConnectConcurrency allows.
	Ramp time.Duration
	// Messages ends the load once every client has sent this many events
	// (fanout: once this many broadcasts were sent). 0 means no limit.
	Messages int
	// Inflight is the number of outstanding requests per client in the
	// closed loop (fanout: broadcasts not yet delivered everywhere).
	// Default 1.
	Inflight int

	// Event is the event emitted. Default "bench".
	Event string
	// ReplyEvent is the event echo waits for. Default: Event.
	ReplyEvent string
	// Payload is the event's single argument. Default GeneratedPayload(64).
	Payload *Payload
	// Expect, when set, is the JSON array every ack or reply must carry,
	// instead of the arguments that were sent.
	Expect json.RawMessage
	// JoinEvent and Room: fanout clients emit JoinEvent with Room as the
	// argument and an ack id, and wait for the ack. Defaults "join", "bench".
	JoinEvent, Room string

	// SourceAddrs are the local addresses connections come from, used in
	// turn, to go beyond one address's ephemeral ports. Default: the
	// system's choice.
	SourceAddrs []netip.Addr
	// ConnectTimeout bounds one connection's handshake. Default 10s.
	ConnectTimeout time.Duration
	// ConnectConcurrency bounds handshakes in progress when no Rate or Ramp
	// paces them. Default 64.
	ConnectConcurrency int
	// ReplyTimeout is how long replies still outstanding at the end are
	// awaited; the rest count as lost. Default 5s.
	ReplyTimeout time.Duration
	// ClientOffset is the index of the first client, so that worker
	// processes of one run send distinct payloads.
	ClientOffset int

	// Progress, if set, is called every ProgressInterval (default 1s) with
	// the running totals, from a goroutine of Run's.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Logger receives lifecycle messages (nil: discard).
	Logger *slog.Logger
	// ringHooks replaces the event loops' io_uring setup and enter in
	// tests (nil: the real ones).
	ringHooks *ringHooks
}

// Config.IO's values.
const (
	IONetpoll = "netpoll"
	IOEpoll   = "epoll"
	// IOEpollNoUring is IOEpoll without its io_uring sends, to compare.
	IOEpollNoUring = "epoll-nouring"
)

func (c *Config) setDefaults() error {
	if c.Scenario == "" {
		c.Scenario = ScenarioAck
	}
	known := false
	for _, s := range Scenarios {
		known = known || s == c.Scenario
	}
	if !known {
		return fmt.Errorf("scenario %q unknown (connect, emit, ack, echo, fanout)", c.Scenario)
	}
	if c.Clients == 0 {
		c.Clients = 1
		if c.Scenario == ScenarioFanout {
			c.Clients = 2
		}
	}
	switch {
	case c.Clients < 0:
		return errors.New("clients must be positive")
	case c.Scenario == ScenarioFanout && c.Clients < 2:
		return errors.New("fanout needs at least 2 clients: one emitter and one receiver")
	case c.Rate < 0 || c.Duration < 0 || c.Ramp < 0 || c.Messages < 0 || c.Inflight < 0:
		return errors.New("rate, duration, ramp, messages and inflight must not be negative")
	}
	if c.Duration == 0 && c.Messages == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Inflight == 0 {
		c.Inflight = 1
	}
	if c.Inflight > 1<<16 {
		return errors.New("inflight must be at most 65536")
	}
	if c.Event == "" {
		c.Event = "bench"
	}
	if protocol.IsReservedEvent(c.Event) {
		return fmt.Errorf("event %q is reserved by Socket.IO", c.Event)
	}
	if c.ReplyEvent == "" {
		c.ReplyEvent = c.Event
	}
	if c.Payload == nil {
		c.Payload = GeneratedPayload(64)
	}
	var err error
	if c.Expect, err = parseExpect(c.Expect); err != nil {
		return err
	}
	if c.JoinEvent == "" {
		c.JoinEvent = "join"
	}
	if c.Room == "" {
		c.Room = "bench"
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.ConnectConcurrency == 0 {
		c.ConnectConcurrency = 64
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = 5 * time.Second
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch c.Transport {
	case "":
		c.Transport = "websocket"
	case "websocket", "polling", "auto":
	default:
		return fmt.Errorf("transport %q unknown (websocket, polling, auto)", c.Transport)
	}
	switch c.IO {
	case "", IONetpoll:
	case IOEpoll, IOEpollNoUring:
		if runtime.GOOS != "linux" {
			return fmt.Errorf("io %s: Linux only", c.IO)
		}
	default:
		return fmt.Errorf("io %q unknown (netpoll, epoll, epoll-nouring)", c.IO)
	}
	switch c.Parser {
	case "":
		c.Parser = ParserJSON
	case ParserJSON, ParserMsgpack:
	default:
		return fmt.Errorf("parser %q unknown (json, msgpack)", c.Parser)
	}
	if c.EIO != 0 && c.EIO != protocol.EIO3 && c.EIO != protocol.EIO4 {
		return fmt.Errorf("EIO %d unsupported (3 or 4)", c.EIO)
	}
	return nil
}
