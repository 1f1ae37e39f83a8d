package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// Errors a caller branches on (the HTTP handler maps them to 404 and 400).
var (
	// ErrNotFound means the namespace or socket of a Target does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the request itself is wrong: a missing or reserved
	// event name, bad arguments, a room and a socket given together.
	ErrInvalid = errors.New("invalid request")
)

// Target selects sockets: the socket with id Socket, else the members of
// Room, else every socket. Namespace ("/admin") narrows the selection to one
// namespace; empty means every namespace.
type Target struct {
	Namespace string `json:"namespace,omitempty"`
	Room      string `json:"room,omitempty"`
	Socket    string `json:"socket,omitempty"`
}

func (t Target) String() string {
	var b strings.Builder
	switch {
	case t.Socket != "":
		b.WriteString("socket " + t.Socket)
	case t.Room != "":
		b.WriteString("room " + t.Room)
	default:
		b.WriteString("every socket")
	}
	if t.Namespace != "" {
		b.WriteString(" of " + normalize(t.Namespace))
	}
	return b.String()
}

// Socket describes a connected socket.
type Socket struct {
	ID          string    `json:"id"`
	Namespace   string    `json:"namespace"`
	Rooms       []string  `json:"rooms"` // without the socket's own private room
	Transport   string    `json:"transport"`
	Address     string    `json:"address"`
	EIO         int       `json:"eio"` // 4 (socket.io 3/4 clients) or 3 (socket.io 2)
	ConnectedAt time.Time `json:"connectedAt"`
	Recovered   bool      `json:"recovered"`
	PacketsIn   uint64    `json:"packetsIn"`
	PacketsOut  uint64    `json:"packetsOut"`
	// Node is the cluster node of a socket on another server
	// (?cluster=1 with sio serve --redis): its adapter uid, or "remote"
	// when that server does not say. Transport, EIO and the packet counts
	// are only known for this server's sockets.
	Node string `json:"node,omitempty"`
}

// Room is a room of a namespace with its members' socket ids.
type Room struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Members   []string `json:"members"`
}

// Answer is one socket's reply to an emit that waited for acks: Args (a JSON
// array, binary shown as {"$binary":...}) or Error ("timeout",
// "disconnected: transport close").
type Answer struct {
	Socket string          `json:"socket"`
	Args   json.RawMessage `json:"args,omitempty"`
	Error  string          `json:"error,omitempty"`

	// Raw and Attachments are the answer as received: raw JSON arguments
	// with placeholders for the attachments (for the dashboard).
	Raw         []json.RawMessage `json:"-"`
	Attachments [][]byte          `json:"-"`
}

// Control performs control operations on a server.
type Control struct {
	srv     *server.Server
	started time.Time
}

// New returns the Control of srv.
func New(srv *server.Server) *Control { return &Control{srv: srv, started: time.Now()} }

// Stats is a snapshot of the server process, for watching a long session
// or a soak run: how many namespaces and sockets it holds and what that
// costs (GET /_sio/stats).
type Stats struct {
	Namespaces int `json:"namespaces"`
	Sockets    int `json:"sockets"`
	Goroutines int `json:"goroutines"`
	// HeapBytes is the memory of live and not yet swept heap objects;
	// RuntimeBytes is all the Go runtime holds from the system.
	HeapBytes    uint64  `json:"heap_bytes"`
	RuntimeBytes uint64  `json:"runtime_bytes"`
	UptimeS      float64 `json:"uptime_s"`
}

// Stats reads the server's counts and the runtime's metrics (without
// stopping the world, unlike runtime.ReadMemStats).
func (c *Control) Stats() Stats {
	st := Stats{UptimeS: time.Since(c.started).Seconds()}
	for _, name := range c.srv.Namespaces() {
		if n, ok := c.srv.Namespace(name); ok { // not Of: it may have been removed since
			st.Namespaces++
			st.Sockets += n.SocketCount()
		}
	}
	samples := []metrics.Sample{
		{Name: "/sched/goroutines:goroutines"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	metrics.Read(samples)
	st.Goroutines = int(samples[0].Value.Uint64())
	st.HeapBytes = samples[1].Value.Uint64()
	st.RuntimeBytes = samples[2].Value.Uint64()
	return st
}

func normalize(nsp string) string {
	if !strings.HasPrefix(nsp, "/") {
		return "/" + nsp
	}
	return nsp
}

// namespaces resolves a namespace filter without creating namespaces.
func (c *Control) namespaces(name string) ([]*server.Namespace, error) {
	names := c.srv.Namespaces()
	if name != "" {
		name = normalize(name)
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("namespace %s: %w", name, ErrNotFound)
		}
		names = []string{name}
	}
	out := make([]*server.Namespace, 0, len(names))
	for _, name := range names {
		// Not Of: an empty dynamic namespace may have been removed since.
		if n, ok := c.srv.Namespace(name); ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// resolve returns the connected sockets t selects. A socket that is named
// but missing is ErrNotFound.
func (c *Control) resolve(t Target) ([]*server.Socket, error) {
	if t.Socket != "" && t.Room != "" {
		return nil, fmt.Errorf("give a room or a socket, not both: %w", ErrInvalid)
	}
	nsps, err := c.namespaces(t.Namespace)
	if err != nil {
		return nil, err
	}
	var out []*server.Socket
	for _, n := range nsps {
		if t.Socket != "" {
			if s, ok := n.Socket(t.Socket); ok {
				out = append(out, s)
			}
			continue
		}
		var opts server.BroadcastOptions
		if t.Room != "" {
			opts.Rooms = []string{t.Room}
		}
		for _, id := range n.Adapter().Sockets(opts) {
			if s, ok := n.Socket(id); ok {
				out = append(out, s)
			}
		}
	}
	if t.Socket != "" && len(out) == 0 {
		return nil, fmt.Errorf("socket %s: %w", t.Socket, ErrNotFound)
	}
	return out, nil
}

// Sockets lists the sockets t selects, sorted by namespace then id.
func (c *Control) Sockets(t Target) ([]Socket, error) {
	socks, err := c.resolve(t)
	if err != nil {
		return nil, err
	}
	out := make([]Socket, 0, len(socks))
	for _, s := range socks {
		out = append(out, describe(s.Info()))
	}
	slices.SortFunc(out, func(a, b Socket) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func describe(in server.SocketInfo) Socket {
	rooms := make([]string, 0, len(in.Rooms))
	for _, r := range in.Rooms {
		if r != in.ID {
			rooms = append(rooms, r)
		}
	}
	slices.Sort(rooms)
	eio := 4
	if in.EIO == protocol.EIO3 {
		eio = 3
	}
	return Socket{
		ID:          in.ID,
		Namespace:   in.Namespace,
		Rooms:       rooms,
		Transport:   in.Transport,
		Address:     in.RemoteAddr,
		EIO:         eio,
		ConnectedAt: in.ConnectedAt.UTC(),
		Recovered:   in.Recovered,
		PacketsIn:   in.PacketsIn,
		PacketsOut:  in.PacketsOut,
	}
}

// Rooms lists the rooms of a namespace (every namespace when empty), sorted,
// leaving out the private room each socket has under its own id.
func (c *Control) Rooms(namespace string) ([]Room, error) {
	nsps, err := c.namespaces(namespace)
	if err != nil {
		return nil, err
	}
	out := []Room{}
	for _, n := range nsps {
		for _, r := range n.Rooms() {
			if len(r.Members) == 1 && r.Members[0] == r.Name {
				if _, ok := n.Socket(r.Name); ok {
					continue // a socket's private room
				}
			}
			out = append(out, Room{Namespace: n.Name(), Name: r.Name, Members: slices.Clone(r.Members)})
		}
	}
	slices.SortFunc(out, func(a, b Room) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Result is what Emit did: how many sockets it addressed and, when it
// waited for acks, each one's answer in the order of the sockets.
type Result struct {
	Sent int      `json:"sent"`
	Acks []Answer `json:"acks,omitempty"`
}

// Emit sends event with args to the sockets t selects. Args are raw JSON
// with placeholders ({"_placeholder":true,"num":N}) standing for
// attachments[N] (protocol.ExtractBinary's shape). With ack > 0 every
// addressed socket is asked for an acknowledgement, and Emit waits until each
// answered, or ack elapsed for it, or ctx ended (then the missing answers are
// "timeout").
func (c *Control) Emit(ctx context.Context, t Target, event string, args []json.RawMessage, attachments [][]byte, ack time.Duration) (Result, error) {
	if event == "" {
		return Result{}, fmt.Errorf("event name missing: %w", ErrInvalid)
	}
	if protocol.IsReservedEvent(event) {
		return Result{}, fmt.Errorf("event %q is reserved by Socket.IO: %w", event, ErrInvalid)
	}
	// Values checks the placeholders; what is sent is the arguments as
	// given (EmitArgs): key order and number spelling are the caller's.
	if _, err := Values(args, attachments); err != nil {
		return Result{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	socks, err := c.resolve(t)
	if err != nil {
		return Result{}, err
	}
	a := server.Args{Raw: args, Attachments: attachments}
	if ack <= 0 {
		return c.emit(t, socks, event, a)
	}
	return emitWithAck(ctx, socks, event, a, ack)
}

// emit sends without acks: one broadcast per namespace, encoded once.
func (c *Control) emit(t Target, socks []*server.Socket, event string, a server.Args) (Result, error) {
	if t.Socket != "" {
		var errs []error
		for _, s := range socks {
			errs = append(errs, s.EmitArgs(event, a))
		}
		return Result{Sent: len(socks)}, errors.Join(errs...)
	}
	nsps, err := c.namespaces(t.Namespace)
	if err != nil {
		return Result{}, err
	}
	var errs []error
	for _, n := range nsps {
		if t.Room != "" {
			errs = append(errs, n.To(t.Room).EmitArgs(event, a))
		} else {
			errs = append(errs, n.EmitArgs(event, a))
		}
	}
	return Result{Sent: len(socks)}, errors.Join(errs...)
}

func emitWithAck(ctx context.Context, socks []*server.Socket, event string, args server.Args, timeout time.Duration) (Result, error) {
	type reply struct {
		i    int
		args server.Args
		err  error
	}
	// Room for every answer: callbacks run on connection goroutines and
	// must never block, even after this function stopped waiting.
	replies := make(chan reply, len(socks))
	res := Result{Sent: len(socks), Acks: make([]Answer, len(socks))}
	waiting := 0
	for i, s := range socks {
		res.Acks[i] = Answer{Socket: s.ID(), Error: "timeout"}
		err := s.EmitArgsWithAckFunc(event, args, timeout, func(a server.Args, err error) {
			replies <- reply{i, a, err}
		})
		if err != nil {
			res.Acks[i].Error = errorText(err)
			continue
		}
		waiting++
	}
	for ; waiting > 0; waiting-- {
		select {
		case r := <-replies:
			a := &res.Acks[r.i]
			if r.err != nil {
				a.Error = errorText(r.err)
				continue
			}
			a.Error = ""
			a.Raw, a.Attachments = r.args.Raw, r.args.Attachments
			a.Args = protocol.InlineBinary(protocol.AppendArray(nil, r.args.Raw...), r.args.Attachments)
		case <-ctx.Done():
			return res, nil
		}
	}
	return res, nil
}

func errorText(err error) string {
	var d *server.DisconnectedError
	switch {
	case errors.Is(err, server.ErrAckTimeout):
		return "timeout"
	case errors.As(err, &d):
		return "disconnected: " + string(d.Reason)
	}
	return err.Error()
}

// Join puts the socket t names in room and returns its rooms.
func (c *Control) Join(t Target, room string) ([]string, error) {
	s, err := c.one(t, room)
	if err != nil {
		return nil, err
	}
	s.Join(room)
	return describe(s.Info()).Rooms, nil
}

// Leave takes the socket t names out of room and returns its rooms.
func (c *Control) Leave(t Target, room string) ([]string, error) {
	s, err := c.one(t, room)
	if err != nil {
		return nil, err
	}
	s.Leave(room)
	return describe(s.Info()).Rooms, nil
}

func (c *Control) one(t Target, room string) (*server.Socket, error) {
	if t.Socket == "" {
		return nil, fmt.Errorf("socket id missing: %w", ErrInvalid)
	}
	if room == "" {
		return nil, fmt.Errorf("room missing: %w", ErrInvalid)
	}
	socks, err := c.resolve(Target{Namespace: t.Namespace, Socket: t.Socket})
	if err != nil {
		return nil, err
	}
	return socks[0], nil
}

// Disconnect disconnects the sockets t selects from their namespace
// ("server namespace disconnect"); with closeConn their whole connection is
// closed. It returns their ids.
func (c *Control) Disconnect(t Target, closeConn bool) ([]string, error) {
	socks, err := c.resolve(t)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(socks))
	for _, s := range socks {
		ids = append(ids, s.ID())
		s.Disconnect(closeConn)
	}
	return ids, nil
}

// Values turns raw JSON arguments whose placeholders stand for attachments
// into values for server.Socket.Emit and Event.Ack: an argument without
// placeholders stays raw JSON (sent byte for byte), a top-level placeholder
// becomes its []byte, and an argument with nested placeholders is decoded
// so that each one becomes its []byte (object keys are then sent sorted).
func Values(args []json.RawMessage, attachments [][]byte) ([]any, error) {
	out := make([]any, len(args))
	for i, a := range args {
		if len(attachments) == 0 || !bytes.Contains(a, []byte(`"_placeholder"`)) {
			out[i] = a
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(a))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
		v, err := resolvePlaceholders(v, attachments)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
		out[i] = v
	}
	return out, nil
}

func resolvePlaceholders(v any, atts [][]byte) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if ph, ok := x["_placeholder"].(bool); ok && ph && len(x) == 2 {
			if num, ok := x["num"].(json.Number); ok {
				n, err := num.Int64()
				if err != nil || n < 0 || n >= int64(len(atts)) {
					return nil, fmt.Errorf("placeholder %s has no attachment", num)
				}
				return atts[n], nil
			}
		}
		for k, e := range x {
			r, err := resolvePlaceholders(e, atts)
			if err != nil {
				return nil, err
			}
			x[k] = r
		}
		return x, nil
	case []any:
		for i, e := range x {
			r, err := resolvePlaceholders(e, atts)
			if err != nil {
				return nil, err
			}
			x[i] = r
		}
		return x, nil
	}
	return v, nil
}

// ParseArgs reads a JSON array of arguments in which {"$binary":"<base64>"}
// marks binary data, and returns the arguments with placeholders and the
// attachments, ready for Emit. Empty input means no arguments.
func ParseArgs(data json.RawMessage) ([]json.RawMessage, [][]byte, error) {
	if len(bytes.TrimSpace(data)) == 0 || string(bytes.TrimSpace(data)) == "null" {
		return nil, nil, nil
	}
	if bytes.TrimSpace(data)[0] != '[' {
		return nil, nil, errors.New("args must be a JSON array")
	}
	withPH, atts, err := protocol.ExtractBinary(data)
	if err != nil {
		return nil, nil, fmt.Errorf("args: %w", err)
	}
	args, err := protocol.SplitArray(withPH)
	if err != nil {
		return nil, nil, fmt.Errorf("args: %w", err)
	}
	return args, atts, nil
}
