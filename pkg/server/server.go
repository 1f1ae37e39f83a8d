package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/sio-dev/sio/pkg/protocol"
)

// Server is a Socket.IO server. It is an http.Handler for Options.Path.
type Server struct {
	opts Options
	log  *slog.Logger
	eng  engineServer

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*Namespace // dynamic namespaces (OfFunc), in registration order
	conns   map[*conn]struct{}
	closing bool
}

// engineServer is the Engine.IO layer the Server runs on.
type engineServer interface {
	http.Handler
	Shutdown(ctx context.Context) error
	Close()
}

func newServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{
		opts:  opts,
		log:   opts.Logger,
		nsps:  make(map[string]*Namespace),
		conns: make(map[*conn]struct{}),
	}
	s.Of("/")
	return s
}

// ServeHTTP serves the Engine.IO endpoint (polling and WebSocket).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.eng.ServeHTTP(w, r) }

func normalizeNsp(name string) string {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return name
}

// Of returns the namespace name ("/" is the main namespace), creating it.
// A leading "/" is added when missing.
func (s *Server) Of(name string) *Namespace {
	name = normalizeNsp(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.nsps[name]; ok {
		return n
	}
	n := newNamespace(s, name, nil)
	s.nsps[name] = n
	return n
}

// Namespace returns the namespace name if it exists, without creating it:
// unlike Of, it cannot bring back as a plain namespace (without its
// parent's middlewares and handlers) a child that
// Options.CleanupEmptyChildNamespaces has just removed.
func (s *Server) Namespace(name string) (*Namespace, bool) {
	s.mu.RLock()
	n, ok := s.nsps[normalizeNsp(name)]
	s.mu.RUnlock()
	return n, ok
}

// OfFunc declares dynamic namespaces: a client connecting to a namespace
// that does not exist yet gets it created when match returns true for its
// name and CONNECT payload (auth). The returned parent namespace's
// middlewares and connection handlers apply to every namespace it creates,
// and its broadcasts reach all of them (socket.io's parent namespace).
// The namespaces it creates stay until the server stops, unless
// Options.CleanupEmptyChildNamespaces removes each once it is empty.
func (s *Server) OfFunc(match func(name string, auth json.RawMessage) bool) *Namespace {
	p := newNamespace(s, "", nil)
	p.match = match
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// lookupNamespace finds the namespace for a CONNECT, creating a dynamic one
// when a parent matches. Matchers are user code: no lock is held.
func (s *Server) lookupNamespace(name string, auth json.RawMessage) (*Namespace, bool) {
	s.mu.RLock()
	n, ok := s.nsps[name]
	if ok {
		n.hold()
	}
	parents := s.parents
	s.mu.RUnlock()
	if ok {
		return n, true
	}
	for _, p := range parents {
		if !callMatch(s.log, p.match, name, auth) {
			continue
		}
		s.mu.Lock()
		if n, ok := s.nsps[name]; ok {
			n.hold()
			s.mu.Unlock()
			return n, true
		}
		n := newNamespace(s, name, p)
		n.hold()
		s.nsps[name] = n
		// Under s.mu, so that a namespace removed and created again under
		// the same name cannot be added before the old one is removed
		// from the parent.
		p.addChild(n)
		s.mu.Unlock()
		return n, true
	}
	return nil, false
}

// removeNamespace removes n, a removable child of OfFunc, if it is still
// empty with no CONNECT in progress: the check and the removal are under
// s.mu, which every lookup holds while it takes its hold on n.
func (s *Server) removeNamespace(n *Namespace) {
	s.mu.Lock()
	n.mu.Lock()
	remove := !n.removed && len(n.sockets) == 0 && n.pending == 0 && s.nsps[n.name] == n
	if remove {
		n.removed = true
		delete(s.nsps, n.name)
	}
	n.mu.Unlock()
	if remove {
		n.parent.removeChild(n)
	}
	s.mu.Unlock()
	if remove {
		n.closeAdapter()
		s.log.Debug("socket.io: empty child namespace removed", "nsp", n.name)
	}
}

func callMatch(log *slog.Logger, match func(string, json.RawMessage) bool, name string, auth json.RawMessage) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("socket.io: namespace matcher panicked", "nsp", name, "panic", r)
			ok = false
		}
	}()
	return match(name, auth)
}

// Namespaces returns the names of the existing namespaces, sorted.
func (s *Server) Namespaces() []string {
	s.mu.RLock()
	names := make([]string, 0, len(s.nsps))
	for name := range s.nsps {
		names = append(names, name)
	}
	s.mu.RUnlock()
	sort.Strings(names)
	return names
}

func (s *Server) namespaceList() []*Namespace {
	s.mu.RLock()
	out := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		out = append(out, n)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Sockets lists every connected socket of every namespace.
func (s *Server) Sockets() []SocketInfo {
	var out []SocketInfo
	for _, n := range s.namespaceList() {
		out = append(out, n.SocketInfos()...)
	}
	return out
}

// To, In, Except, Emit, Volatile, Compress, FetchSockets, SocketsJoin,
// SocketsLeave and DisconnectSockets act on the main namespace, as io.* in
// Node.

// To selects the sockets in rooms of the main namespace.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.Of("/").To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.Of("/").To(rooms...) }

// Except excludes the sockets in rooms of the main namespace.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.Of("/").Except(rooms...) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// Volatile marks main-namespace packets as droppable.
func (s *Server) Volatile() BroadcastOperator { return s.Of("/").Volatile() }

// Compress sets the compression hint for the main namespace.
func (s *Server) Compress(c bool) BroadcastOperator { return s.Of("/").Compress(c) }

// EmitWithAck sends an event to every socket of the main namespace and
// collects one acknowledgement from each.
func (s *Server) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.Of("/").EmitWithAck(ctx, event, args...)
}

// FetchSockets returns the sockets of the main namespace.
func (s *Server) FetchSockets(ctx context.Context) ([]RemoteSocket, error) {
	return s.Of("/").FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(rooms ...string) { s.Of("/").SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(rooms ...string) { s.Of("/").SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(close bool) { s.Of("/").DisconnectSockets(close) }

func (s *Server) addConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown disconnects every socket with reason "server shutting down"
// (recoverable, like Node's io.close()), closes every connection and waits
// for the Engine.IO layer's goroutines to end or ctx to be done.
func (s *Server) Shutdown(ctx context.Context) error {
	conns := s.beginClose()
	for _, c := range conns {
		c.shutdown(protocol.ReasonServerShuttingDown)
	}
	if s.eng == nil {
		return nil
	}
	return s.eng.Shutdown(ctx)
}

// Close closes every connection at once. It is idempotent.
func (s *Server) Close() {
	conns := s.beginClose()
	for _, c := range conns {
		c.shutdown(protocol.ReasonServerShuttingDown)
	}
	if s.eng != nil {
		s.eng.Close()
	}
}

func (s *Server) beginClose() []*conn {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	return conns
}

func (s *Server) tap(t protocol.Trace) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("socket.io: tap panicked", "panic", r)
		}
	}()
	s.opts.Tap(t)
}

// randomID returns 20 characters of URL-safe base64 (15 random bytes), the
// shape of Node's ids.
func randomID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
