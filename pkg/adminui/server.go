package adminui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sio-dev/sio/pkg/protocol"
	"github.com/sio-dev/sio/pkg/server"
)

// ServerOptions are instrument()'s options, for a pkg/server.Server.
type ServerOptions struct {
	// Namespace is the admin namespace (namespaceName). Default "/admin".
	Namespace string
	// Auth enables basic auth; nil is auth: false.
	Auth *BasicAuth
	// Readonly refuses every command (readonly).
	Readonly bool
	// Production streams only server_stats (mode: "production"); the
	// default is development mode, which streams sockets, rooms and events.
	Production bool
	// ServerID names this server (serverId). Default: the hostname.
	ServerID string
	// StatsInterval is the period of server_stats. Default 2s, as Node.
	StatsInterval time.Duration
	// QueueSize bounds the admin events waiting to be sent: they are made
	// on the connections' goroutines, which must not wait for the admin
	// sockets; past it events are dropped (and counted in a warning).
	// Default 4096.
	QueueSize int
	// MaxSessions bounds the login sessions kept; the oldest goes first.
	// Default 1000.
	MaxSessions int
	// SessionTTL is how long a login session is valid (the Redis store's
	// sessionDuration). Default 24h.
	SessionTTL time.Duration
	// Logger gets warnings; nil discards them.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// BasicAuth is instrument()'s {type: "basic", username, password}: the
// password is a bcrypt hash, never the password itself.
type BasicAuth struct {
	Username     string
	PasswordHash string
}

// HashPassword makes the bcrypt hash BasicAuth wants, with bcryptjs's
// default cost (10).
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	return string(h), err
}

// Instrument gives a pkg/server.Server the server side of the admin UI
// protocol, as instrument(io, {...}) does for Node: call Wrap on the
// server's Options before server.New, then Attach on the server, and
// Close when done.
type Instrument struct {
	opts     ServerOptions
	config   Config
	hostname string
	started  time.Time

	srv   *server.Server
	admin *server.Namespace

	queue   chan adminEvent
	dropped atomic.Int64
	done    chan struct{}
	wg      sync.WaitGroup
	closed  sync.Once

	mu       sync.Mutex
	buckets  map[bucketKey]*AggregatedEvent // this period's aggregated events
	sessions map[string]time.Time           // login session id → expiry
}

type adminEvent struct {
	name string
	args []any
}

type bucketKey struct {
	ts           int64
	typ, subType string
}

// adminKey is where an admin socket keeps its login session in its data;
// like Node's socket.data._admin, it is never serialized.
const adminKey = "_admin"

// NewInstrument checks opts and returns an Instrument.
func NewInstrument(opts ServerOptions) (*Instrument, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if !strings.HasPrefix(opts.Namespace, "/") {
		return nil, fmt.Errorf("admin namespace %q: must start with /", opts.Namespace)
	}
	if opts.Auth != nil {
		if opts.Auth.Username == "" {
			return nil, errors.New("admin auth: the user name is empty")
		}
		if _, err := bcrypt.Cost([]byte(opts.Auth.PasswordHash)); err != nil {
			return nil, errors.New("admin auth: the password must be a valid bcrypt hash")
		}
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = 2 * time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 1000
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	if opts.ServerID == "" {
		opts.ServerID = host
	}
	var features []Feature
	if !opts.Readonly {
		// pkg/server has socketsJoin, socketsLeave and disconnectSockets,
		// as socket.io 4: the M features too.
		features = []Feature{FeatureEmit, FeatureJoin, FeatureLeave, FeatureDisconnect, FeatureMJoin, FeatureMLeave, FeatureMDisconnect}
	}
	features = append(features, FeatureAggregatedEvents)
	if !opts.Production {
		features = append(features, FeatureAllEvents)
	}
	return &Instrument{
		opts:     opts,
		config:   Config{SupportedFeatures: features},
		hostname: host,
		started:  opts.Now(),
		queue:    make(chan adminEvent, opts.QueueSize),
		done:     make(chan struct{}),
		buckets:  map[bucketKey]*AggregatedEvent{},
		sessions: map[string]time.Time{},
	}, nil
}

func (in *Instrument) dev() bool { return !in.opts.Production }

// Wrap chains the Instrument's hooks in front of those already in so: the
// lifecycle hooks, the adapter's room changes (room_joined, room_left) and the Tap
// (events and traffic counts). A Tap that asked for Socket.IO packets only
// still gets only those.
func (in *Instrument) Wrap(so *server.Options) {
	prevTap, socketOnly := so.Tap, so.SocketTapOnly
	so.SocketTapOnly = false // the traffic counts need the Engine.IO packets
	so.Tap = func(t protocol.Trace) {
		in.observe(t)
		if prevTap != nil && (!socketOnly || t.Layer == protocol.LayerSocket) {
			prevTap(t)
		}
	}
	if !in.dev() {
		return
	}
	prevConnect, prevDisconnect, prevUpgrade, prevRoom := so.OnConnect, so.OnDisconnect, so.OnUpgrade, so.OnRoomChange
	so.OnConnect = func(s *server.Socket) {
		in.enqueue(EventSocketConnected, serializeSocket(s), Date(in.opts.Now()))
		if prevConnect != nil {
			prevConnect(s)
		}
	}
	so.OnDisconnect = func(s *server.Socket, reason protocol.DisconnectReason) {
		in.enqueue(EventSocketDisconnected, s.Namespace().Name(), s.ID(), string(reason), Date(in.opts.Now()))
		if prevDisconnect != nil {
			prevDisconnect(s, reason)
		}
	}
	so.OnUpgrade = func(s *server.Socket, transport string) {
		in.enqueue(EventSocketUpdated, socketUpdate{ID: s.ID(), Nsp: s.Namespace().Name(), Transport: transport})
		if prevUpgrade != nil {
			prevUpgrade(s, transport)
		}
	}
	so.OnRoomChange = func(n *server.Namespace, c server.RoomChange) {
		ev := EventRoomLeft
		if c.Joined {
			ev = EventRoomJoined
		}
		in.enqueue(ev, n.Name(), c.Room, c.Socket, Date(in.opts.Now()))
		if prevRoom != nil {
			prevRoom(n, c)
		}
	}
}

// SetLogger replaces ServerOptions.Logger (for a logger made after
// NewInstrument); call it before Wrap.
func (in *Instrument) SetLogger(l *slog.Logger) {
	if l != nil {
		in.opts.Logger = l
	}
}

// Attach adds the admin namespace to srv (built from the Options Wrap
// changed) and starts sending.
func (in *Instrument) Attach(srv *server.Server) {
	in.srv = srv
	in.admin = srv.Of(in.opts.Namespace)
	if in.opts.Auth != nil {
		in.admin.Use(in.authenticate)
	}
	in.admin.OnConnection(in.onAdminConnection)
	in.wg.Add(2)
	go in.send()
	go in.statsLoop()
}

// Close stops the Instrument's goroutines; call it when the server stops.
func (in *Instrument) Close() {
	in.closed.Do(func() { close(in.done) })
	in.wg.Wait()
}

// enqueue queues an event for the admin sockets without blocking.
func (in *Instrument) enqueue(name string, args ...any) {
	select {
	case in.queue <- adminEvent{name, args}:
	default:
		if in.dropped.Add(1) == 1 {
			in.opts.Logger.Warn("admin-ui: events dropped: the admin sockets fall behind", "queue", in.opts.QueueSize)
		}
	}
}

// send emits the queued events to the admin namespace, in order.
func (in *Instrument) send() {
	defer in.wg.Done()
	for {
		select {
		case ev := <-in.queue:
			_ = in.admin.Emit(ev.name, ev.args...)
		case <-in.done:
			return
		}
	}
}

func (in *Instrument) statsLoop() {
	defer in.wg.Done()
	t := time.NewTicker(in.opts.StatsInterval)
	defer t.Stop()
	for {
		in.enqueue(EventServerStats, in.stats())
		select {
		case <-t.C:
		case <-in.done:
			return
		}
	}
}

// stats makes this server's server_stats and starts a new period of
// aggregated events.
func (in *Instrument) stats() ServerStats {
	st := ServerStats{
		ServerID: in.opts.ServerID, Hostname: in.hostname, PID: os.Getpid(),
		Uptime:           in.opts.Now().Sub(in.started).Seconds(),
		AggregatedEvents: []AggregatedEvent{},
		Namespaces:       []NamespaceDetails{},
	}
	engines, polling := map[string]bool{}, map[string]bool{}
	for _, s := range in.srv.Sockets() {
		engines[s.EngineID] = true
		if s.Transport == "polling" {
			polling[s.EngineID] = true
		}
	}
	st.ClientsCount, st.PollingClientsCount = len(engines), len(polling)
	for _, name := range in.srv.Namespaces() {
		if n, ok := in.srv.Namespace(name); ok {
			st.Namespaces = append(st.Namespaces, NamespaceDetails{Name: name, SocketsCount: n.SocketCount()})
		}
	}
	in.mu.Lock()
	for _, e := range in.buckets {
		st.AggregatedEvents = append(st.AggregatedEvents, *e)
	}
	clear(in.buckets)
	in.mu.Unlock()
	slices.SortFunc(st.AggregatedEvents, func(a, b AggregatedEvent) int {
		if a.Timestamp != b.Timestamp {
			return int(a.Timestamp - b.Timestamp)
		}
		return strings.Compare(a.Type+a.SubType, b.Type+b.SubType)
	})
	return st
}

// count adds to this second's aggregated event (Node's EventBuffer).
func (in *Instrument) count(t time.Time, typ, subType string, n int64) {
	k := bucketKey{t.Unix() * 1000, typ, subType}
	in.mu.Lock()
	defer in.mu.Unlock()
	if e := in.buckets[k]; e != nil {
		e.Count += n
		return
	}
	// Bounded: a few types a second, cleared every StatsInterval.
	in.buckets[k] = &AggregatedEvent{Timestamp: k.ts, Type: typ, SubType: subType, Count: n}
}

// observe turns traces into traffic counts and, in development mode,
// event_received and event_sent.
func (in *Instrument) observe(t protocol.Trace) {
	now := t.Time
	if now.IsZero() {
		now = in.opts.Now()
	}
	if t.Layer == protocol.LayerEngine {
		switch {
		case t.Engine.Type == protocol.EngineOpen && t.Dir == protocol.Out:
			in.count(now, "rawConnection", "", 1)
		case t.Engine.Type == protocol.EngineClose:
			in.count(now, "rawDisconnection", "transport close", 1)
		case t.Engine.Type == protocol.EngineMessage:
			// Node counts the packets that carry data: messages.
			dir := "In"
			if t.Dir == protocol.Out {
				dir = "Out"
			}
			in.count(now, "packets"+dir, "", 1)
			in.count(now, "bytes"+dir, "", int64(len(t.Engine.Data)))
		}
		return
	}
	p := &t.Packet
	if !in.dev() || t.SID == "" || p.Namespace == in.opts.Namespace || !p.IsEvent() || len(p.Data) == 0 {
		return
	}
	name := EventReceived
	if t.Dir == protocol.Out {
		name = EventSent
	}
	in.enqueue(name, p.Namespace, t.SID, json.RawMessage(slices.Clone(p.Data)), Date(now))
}

// authenticate is the admin namespace's middleware: a known session id,
// or the user name and a password matching the bcrypt hash.
func (in *Instrument) authenticate(s *server.Socket) error {
	var auth struct {
		SessionID string `json:"sessionId"`
		Username  string `json:"username"`
		Password  string `json:"password"`
	}
	_ = json.Unmarshal(s.Handshake().Auth, &auth)
	if auth.SessionID != "" && in.validSession(auth.SessionID) {
		return nil
	}
	if auth.Username == in.opts.Auth.Username &&
		bcrypt.CompareHashAndPassword([]byte(in.opts.Auth.PasswordHash), []byte(auth.Password)) == nil {
		s.Set(adminKey, in.newSession())
		return nil
	}
	return &server.ConnectError{Message: "invalid credentials"}
}

func (in *Instrument) validSession(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	exp, ok := in.sessions[id]
	return ok && in.opts.Now().Before(exp)
}

func (in *Instrument) newSession() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	now := in.opts.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	for len(in.sessions) >= in.opts.MaxSessions {
		oldest := ""
		for k, exp := range in.sessions {
			if oldest == "" || exp.Before(in.sessions[oldest]) {
				oldest = k
			}
		}
		delete(in.sessions, oldest)
	}
	in.sessions[id] = now.Add(in.opts.SessionTTL)
	return id
}

func (in *Instrument) onAdminConnection(s *server.Socket) {
	if id, ok := s.Get(adminKey); ok {
		// Node emits it from the middleware, before the CONNECT reply;
		// clients see it either way before anything else of the namespace.
		_ = s.Emit(EventSession, id)
	}
	if !in.opts.Readonly {
		s.On(CommandJoin, func(e *server.Event) { in.onRoomCommand(e, true) })
		s.On(CommandLeave, func(e *server.Event) { in.onRoomCommand(e, false) })
		s.On(CommandDisconnect, in.onDisconnectCommand)
		s.On(CommandEmit, in.onEmitCommand)
	}
	_ = s.Emit(EventConfig, in.config)
	if in.dev() {
		_ = s.Emit(EventAllSockets, in.allSockets())
	}
}

// allSockets lists the sockets of every namespace, of the whole cluster
// with a multi-node adapter (Node's fetchSockets), this server's fully
// and the others' as their adapter describes them (no transport).
func (in *Instrument) allSockets() []Socket {
	all := []Socket{}
	for _, name := range in.srv.Namespaces() {
		n, ok := in.srv.Namespace(name)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
		remote, err := n.FetchSockets(ctx)
		cancel()
		if err != nil {
			in.opts.Logger.Warn("admin-ui: fetch the cluster's sockets", "nsp", name, "err", err)
		}
		seen := map[string]bool{}
		for _, r := range remote {
			if so, ok := n.Socket(r.ID); ok {
				all = append(all, serializeSocket(so))
			} else {
				all = append(all, serializeRemote(r))
			}
			seen[r.ID] = true
		}
		// Without an answer from the cluster, this server's own still count.
		for _, info := range n.SocketInfos() {
			if so, ok := n.Socket(info.ID); ok && !seen[info.ID] {
				all = append(all, serializeSocket(so))
			}
		}
	}
	return all
}

// fetchTimeout bounds the wait for the other nodes' sockets.
const fetchTimeout = 5 * time.Second

// commandArgs reads a command's leading string arguments and its filter
// (a string, or null/absent for none) at index at.
func commandArgs(e *server.Event, n, at int) ([]string, string, bool) {
	out := make([]string, n)
	for i := range n {
		s, err := e.Args.String(i)
		if err != nil {
			return nil, "", false
		}
		out[i] = s
	}
	filter := ""
	if e.Args.Len() > at {
		_ = e.Args.Decode(at, &filter) // null stays ""
	}
	return out, filter, true
}

func (in *Instrument) onRoomCommand(e *server.Event, join bool) {
	args, filter, ok := commandArgs(e, 2, 2)
	if !ok {
		return
	}
	if op, ok := in.selection(args[0], filter); ok {
		if join {
			_ = op.SocketsJoin(args[1])
		} else {
			_ = op.SocketsLeave(args[1])
		}
	}
}

func (in *Instrument) onDisconnectCommand(e *server.Event) {
	args, filter, ok := commandArgs(e, 1, 2)
	if !ok {
		return
	}
	var closeConn bool
	_ = e.Args.Decode(1, &closeConn)
	if op, ok := in.selection(args[0], filter); ok {
		_ = op.DisconnectSockets(closeConn)
	}
}

// selection is Node's io.of(nsp).in(filter), the whole namespace without
// a filter: the adapter applies it on every node of a cluster, and the
// adapters (server.RoomWatcher) report each room change it makes.
func (in *Instrument) selection(nsp, filter string) (server.BroadcastOperator, bool) {
	n, ok := in.srv.Namespace(nsp)
	if !ok {
		return server.BroadcastOperator{}, false
	}
	op := n.Except()
	if filter != "" {
		op = op.In(filter)
	}
	return op, true
}

func (in *Instrument) onEmitCommand(e *server.Event) {
	nsp, err := e.Args.String(0)
	if err != nil || e.Args.Len() < 3 {
		return
	}
	var filter string
	_ = e.Args.Decode(1, &filter)
	ev, err := e.Args.String(2)
	if err != nil {
		return
	}
	n, ok := in.srv.Namespace(nsp)
	if !ok {
		return
	}
	args := make([]any, 0, e.Args.Len()-3)
	for _, r := range e.Args.Raw[3:] {
		args = append(args, r)
	}
	if filter != "" {
		_ = n.In(filter).Emit(ev, args...)
	} else {
		_ = n.Emit(ev, args...)
	}
}

// serializeSocket is Node's serialize(socket, nsp).
func serializeSocket(s *server.Socket) Socket {
	data := s.Data()
	delete(data, adminKey)
	raw, err := json.Marshal(data)
	if err != nil || data == nil {
		raw = json.RawMessage(`{}`)
	}
	rooms := s.Rooms()
	if rooms == nil {
		rooms = []string{}
	}
	clientID := s.EngineID()
	if len(clientID) > 12 {
		clientID = clientID[:12]
	}
	return Socket{
		ID: s.ID(), ClientID: clientID, Transport: s.Transport(), Nsp: s.Namespace().Name(),
		Data: raw, Handshake: serializeHandshake(s.Handshake()), Rooms: rooms,
	}
}

// serializeHandshake is the handshake part of Node's serialize().
func serializeHandshake(h server.Handshake) Handshake {
	headers := make(map[string]any, len(h.Headers))
	for k, vs := range h.Headers {
		// Node joins repeated headers with ", " (set-cookie aside).
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	query := make(map[string]any, len(h.Query))
	for k, vs := range h.Query {
		if len(vs) == 1 {
			query[k] = vs[0]
		} else {
			query[k] = vs
		}
	}
	address := h.Address
	if host, _, err := net.SplitHostPort(address); err == nil {
		address = host
	}
	for _, hd := range []string{"Cf-Connecting-Ip", "X-Forwarded-For"} {
		if v := h.Headers.Get(hd); v != "" {
			address = v
			break
		}
	}
	return Handshake{
		Address: address, Headers: headers, Query: query,
		Issued: h.Time.UnixMilli(), Secure: h.Secure, Time: jsDateString(h.Time),
		URL: h.URL, XDomain: h.Headers.Get("Origin") != "",
	}
}

// serializeRemote serializes a socket of another node from what its
// adapter tells: no transport nor engine id.
func serializeRemote(r server.RemoteSocket) Socket {
	data := maps.Clone(r.Data)
	delete(data, adminKey)
	raw, err := json.Marshal(data)
	if err != nil || data == nil {
		raw = json.RawMessage(`{}`)
	}
	h := r.Handshake
	so := Socket{ID: r.ID, Nsp: r.Namespace, Data: raw, Rooms: r.Rooms}
	if so.Rooms == nil {
		so.Rooms = []string{}
	}
	so.Handshake = serializeHandshake(h)
	return so
}

// jsDateString formats t as Node's Date.prototype.toString() in UTC (the
// handshake's time field).
func jsDateString(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 2006 15:04:05") + " GMT+0000 (Coordinated Universal Time)"
}
