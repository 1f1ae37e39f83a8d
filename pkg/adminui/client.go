package adminui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/client"
)

// Options configure an admin Client.
type Options struct {
	// Namespace is the admin namespace; "" means the URL's path, or
	// DefaultNamespace when the URL has none.
	Namespace string
	// Username and Password log in with instrument()'s basic auth. Empty:
	// no credentials are sent (a server with auth: false).
	Username, Password string
	// Client is the Socket.IO client's configuration (transport, headers,
	// TLS, reconnection, Tap...). Its Auth is replaced by the credentials.
	Client client.Options
	// OnUpdate sees every update, once the state has taken it, on the
	// connection's reader goroutine: it must not block.
	OnUpdate func(Update)
	// OnError sees the events that could not be decoded; nil ignores them.
	OnError func(error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Errors of the commands.
var (
	// ErrReadonly: the server was instrumented with readonly: true.
	ErrReadonly = errors.New("the server is read-only (instrument's readonly option): it accepts no command")
	// ErrProductionMode: the server runs in production mode and streams
	// neither sockets nor events, only server_stats.
	ErrProductionMode = errors.New("the server runs in production mode: it lists no sockets, rooms or events, only server stats")
)

// Client is a connection to an instrumented server's admin namespace. Its
// methods are safe for concurrent use.
type Client struct {
	c    *client.Client
	opts Options
	nsp  string

	mu       sync.Mutex
	st       *State
	config   chan struct{} // closed at the first config
	listed   chan struct{} // closed at the first all_sockets
	stats    chan struct{} // closed at the first server_stats
	onceCfg  sync.Once
	onceList sync.Once
	onceStat sync.Once
	waiters  map[*waiter]struct{}
}

// waiter is an Await in progress: done sees each update until it returns
// true.
type waiter struct {
	done func(Update) bool
	ch   chan Update
}

// Dial connects to the admin namespace of the server at rawURL and returns
// once the server has sent its config (right after accepting the
// connection). A refused login is a *client.ConnectError wrapped with a
// hint.
func Dial(ctx context.Context, rawURL string, opts Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("admin URL: %w", err)
	}
	nsp := opts.Namespace
	if nsp == "" {
		nsp = strings.TrimSuffix(u.Path, "/")
	}
	if nsp == "" {
		nsp = DefaultNamespace
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	u.Path = nsp
	if opts.Now == nil {
		opts.Now = time.Now
	}
	co := opts.Client
	co.Auth = nil
	if opts.Username != "" || opts.Password != "" {
		// The admin UI's login form sends exactly these two keys.
		co.Auth, _ = json.Marshal(struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}{opts.Username, opts.Password})
	}
	c, err := client.New(u.String(), co)
	if err != nil {
		return nil, err
	}
	a := &Client{c: c, opts: opts, nsp: nsp, st: NewState(),
		config: make(chan struct{}), listed: make(chan struct{}), stats: make(chan struct{})}
	c.OnAny(a.onEvent)
	if err := c.Connect(ctx); err != nil {
		var ce *client.ConnectError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%w%s", err, connectHint(ce, nsp, opts.Username != ""))
		}
		return nil, err
	}
	select {
	case <-a.config:
		return a, nil
	case <-c.Done():
		return nil, fmt.Errorf("admin namespace %s: connection lost before the server's config: %w", nsp, c.Err())
	case <-ctx.Done():
		_ = c.Close()
		return nil, fmt.Errorf("admin namespace %s: no config from the server (is it instrumented with @socket.io/admin-ui?): %w", nsp, ctx.Err())
	}
}

// connectHint explains the refusals an admin client meets.
func connectHint(ce *client.ConnectError, nsp string, withAuth bool) string {
	switch {
	case ce.Message == "invalid credentials" && !withAuth:
		return " (the server asks for a login: --auth user:pass)"
	case ce.Message == "invalid credentials":
		return " (wrong user name or password)"
	case strings.Contains(ce.Message, "Invalid namespace"):
		return fmt.Sprintf(" (no admin namespace %s: is the server instrumented with @socket.io/admin-ui, and with this namespaceName?)", nsp)
	}
	return ""
}

func (a *Client) onEvent(e *client.Event) {
	a.mu.Lock()
	u, err := a.st.Apply(a.opts.Now(), e.Name, e.Args)
	if err == nil {
		for w := range a.waiters {
			if w.done(u) {
				delete(a.waiters, w)
				w.ch <- u // buffered, one send
			}
		}
	}
	a.mu.Unlock()
	if err != nil {
		if a.opts.OnError != nil {
			a.opts.OnError(err)
		}
		return
	}
	switch e.Name {
	case EventConfig:
		a.onceCfg.Do(func() { close(a.config) })
	case EventAllSockets:
		a.onceList.Do(func() { close(a.listed) })
	case EventServerStats:
		a.onceStat.Do(func() { close(a.stats) })
	}
	if a.opts.OnUpdate != nil {
		a.opts.OnUpdate(u)
	}
}

// Namespace is the admin namespace this client is connected to.
func (a *Client) Namespace() string { return a.nsp }

// Config returns the server's config.
func (a *Client) Config() Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.Config
}

// Snapshot is a copy of a Client's state.
type Snapshot struct {
	Config         Config
	Listed         bool
	Servers        []ServerInfo
	Sockets        []SocketInfo
	Rooms          []Room
	Events         []EventInfo
	DroppedSockets int
}

// Snapshot copies the current state, after dropping the servers gone
// silent.
func (a *Client) Snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.st.Expire(a.opts.Now())
	return Snapshot{
		Config:         a.st.Config,
		Listed:         a.st.Listed,
		Servers:        a.st.Servers(),
		Sockets:        a.st.Sockets(),
		Rooms:          a.st.Rooms(),
		Events:         a.st.Events(),
		DroppedSockets: a.st.DroppedSockets,
	}
}

// WaitSockets waits for the server's list of sockets (all_sockets, sent
// right after config in development mode). In production mode it returns
// ErrProductionMode at once.
func (a *Client) WaitSockets(ctx context.Context) error {
	if !a.Config().Development() {
		return ErrProductionMode
	}
	return a.wait(ctx, a.listed, "the list of sockets")
}

// WaitStats waits for the first server_stats (servers send them every 2 s).
func (a *Client) WaitStats(ctx context.Context) error {
	return a.wait(ctx, a.stats, "server stats")
}

func (a *Client) wait(ctx context.Context, ch chan struct{}, what string) error {
	select {
	case <-ch:
		return nil
	case <-a.c.Done():
		return fmt.Errorf("connection lost while waiting for %s: %w", what, a.c.Err())
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}

// Await calls send, then waits until done, called with every update after
// the send (under the client's lock: it must be quick and not call the
// Client), returns true, and returns that update. It is how a command
// waits for its effect, since the protocol acknowledges none.
func (a *Client) Await(ctx context.Context, send func() error, done func(Update) bool) (Update, error) {
	w := &waiter{done: done, ch: make(chan Update, 1)}
	a.mu.Lock()
	if a.waiters == nil {
		a.waiters = map[*waiter]struct{}{}
	}
	a.waiters[w] = struct{}{}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.waiters, w)
		a.mu.Unlock()
	}()
	if err := send(); err != nil {
		return Update{}, err
	}
	select {
	case u := <-w.ch:
		return u, nil
	case <-a.c.Done():
		return Update{}, fmt.Errorf("connection lost: %w", a.c.Err())
	case <-ctx.Done():
		return Update{}, ctx.Err()
	}
}

// Join makes the sockets selected by filter (a room, or a socket's id,
// which is its own room; "" for every socket of nsp) join room.
func (a *Client) Join(nsp, room, filter string) error {
	if err := a.check(FeatureJoin, FeatureMJoin, filter); err != nil {
		return err
	}
	return a.c.Emit(CommandJoin, nsp, room, filterArg(filter))
}

// Leave makes the sockets selected by filter leave room.
func (a *Client) Leave(nsp, room, filter string) error {
	if err := a.check(FeatureLeave, FeatureMLeave, filter); err != nil {
		return err
	}
	return a.c.Emit(CommandLeave, nsp, room, filterArg(filter))
}

// Disconnect disconnects the sockets selected by filter; close also
// closes their underlying connection.
func (a *Client) Disconnect(nsp string, close bool, filter string) error {
	if err := a.check(FeatureDisconnect, FeatureMDisconnect, filter); err != nil {
		return err
	}
	return a.c.Emit(CommandDisconnect, nsp, close, filterArg(filter))
}

// Emit sends event with args to the sockets of nsp in the room filter ("":
// all of them). Args are encoded as by client.Socket.Emit (client.Notation
// for sio's argument notation).
func (a *Client) Emit(nsp, filter, event string, args ...any) error {
	if err := a.check(FeatureEmit, FeatureEmit, filter); err != nil {
		return err
	}
	return a.c.Emit(CommandEmit, append([]any{nsp, filterArg(filter), event}, args...)...)
}

// check refuses a command the server's config does not list: the server
// would drop it silently.
func (a *Client) check(one, all Feature, filter string) error {
	c := a.Config()
	switch {
	case c.Readonly():
		return ErrReadonly
	case !c.Has(one):
		return fmt.Errorf("the server does not support %s", one)
	case filter == "" && !c.Has(all):
		return fmt.Errorf("the server does not support %s (a socket.io 3 server acts on one socket at a time: give its id)", all)
	}
	return nil
}

// filterArg is the wire form of a filter: null for none, as the UI's
// undefined serializes.
func filterArg(filter string) any {
	if filter == "" {
		return nil
	}
	return filter
}

// Flush waits until the commands sent so far are written to the network.
func (a *Client) Flush(ctx context.Context) error { return a.c.Flush(ctx) }

// Done is closed when the client stops (Close, or reconnection given up).
func (a *Client) Done() <-chan struct{} { return a.c.Done() }

// Err is why the client stopped.
func (a *Client) Err() error { return a.c.Err() }

// Close disconnects.
func (a *Client) Close() error { return a.c.Close() }
