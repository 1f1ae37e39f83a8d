package adminui

import (
	"encoding/json"
	"slices"
	"time"
)

// DefaultNamespace is the admin namespace of instrument()'s default
// options (namespaceName).
const DefaultNamespace = "/admin"

// Events the instrumented server sends to the admin namespace.
const (
	EventSession            = "session"             // (sessionId) after a basic-auth login
	EventConfig             = "config"              // ({supportedFeatures}) on connection
	EventServerStats        = "server_stats"        // (stats) every 2s, from every server
	EventAllSockets         = "all_sockets"         // ([socket...]) on connection, development mode
	EventSocketConnected    = "socket_connected"    // (socket, date)
	EventSocketUpdated      = "socket_updated"      // ({id, nsp, transport|data})
	EventSocketDisconnected = "socket_disconnected" // (nsp, id, reason, date)
	EventRoomJoined         = "room_joined"         // (nsp, room, id, date)
	EventRoomLeft           = "room_left"           // (nsp, room, id, date)
	EventReceived           = "event_received"      // (nsp, id, [event, ...args], date)
	EventSent               = "event_sent"          // (nsp, id, [event, ...args], date)
)

// Commands the admin client sends; the server registers a handler only for
// those its config lists.
const (
	CommandEmit       = "emit"        // (nsp, filter|null, event, ...args)
	CommandJoin       = "join"        // (nsp, room, filter|null)
	CommandLeave      = "leave"       // (nsp, room, filter|null)
	CommandDisconnect = "_disconnect" // (nsp, close, filter|null)
)

// Feature is one entry of config.supportedFeatures.
type Feature string

// The features of @socket.io/admin-ui 0.5 (typed-events.d.ts).
const (
	FeatureEmit        Feature = "EMIT"
	FeatureJoin        Feature = "JOIN"
	FeatureLeave       Feature = "LEAVE"
	FeatureDisconnect  Feature = "DISCONNECT"
	FeatureMJoin       Feature = "MJOIN"       // join without a filter: every socket (socket.io 4)
	FeatureMLeave      Feature = "MLEAVE"      // leave without a filter (socket.io 4)
	FeatureMDisconnect Feature = "MDISCONNECT" // disconnect without a filter (socket.io 4)
	// FeatureAggregatedEvents: server_stats carries aggregatedEvents.
	FeatureAggregatedEvents Feature = "AGGREGATED_EVENTS"
	// FeatureAllEvents: development mode, the server streams every socket,
	// room and event.
	FeatureAllEvents Feature = "ALL_EVENTS"
)

// Config is the payload of the config event.
type Config struct {
	SupportedFeatures []Feature `json:"supportedFeatures"`
}

// Has reports whether the server supports f.
func (c Config) Has(f Feature) bool { return slices.Contains(c.SupportedFeatures, f) }

// Readonly reports whether the server accepts no command: instrument()'s
// readonly option leaves only AGGREGATED_EVENTS (and ALL_EVENTS).
func (c Config) Readonly() bool {
	return !c.Has(FeatureEmit) && !c.Has(FeatureJoin) && !c.Has(FeatureLeave) && !c.Has(FeatureDisconnect)
}

// Development reports whether the server runs in development mode, where
// it streams sockets, rooms and events.
func (c Config) Development() bool { return c.Has(FeatureAllEvents) }

// NamespaceDetails is one namespace in server_stats.
type NamespaceDetails struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// AggregatedEvent counts one kind of engine activity during one second.
// Types: rawConnection, rawDisconnection (SubType: the reason), packetsIn,
// packetsOut, bytesIn, bytesOut.
type AggregatedEvent struct {
	Timestamp int64  `json:"timestamp"` // ms since the epoch, truncated to the second
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int64  `json:"count"`
}

// ServerStats is the payload of server_stats: one server of the cluster.
type ServerStats struct {
	ServerID            string             `json:"serverId"`
	Hostname            string             `json:"hostname"`
	PID                 int                `json:"pid"`
	Uptime              float64            `json:"uptime"` // seconds
	ClientsCount        int                `json:"clientsCount"`
	PollingClientsCount int                `json:"pollingClientsCount"`
	AggregatedEvents    []AggregatedEvent  `json:"aggregatedEvents"`
	Namespaces          []NamespaceDetails `json:"namespaces"`
}

// Handshake is a socket's handshake as the server serializes it: the auth
// payload is left out on purpose (it may hold credentials).
type Handshake struct {
	Address string `json:"address"`
	// Headers: lower-case names; values are strings (or arrays, as Node
	// gives set-cookie).
	Headers map[string]any `json:"headers"`
	// Query: values are strings, or arrays for repeated keys.
	Query   map[string]any `json:"query"`
	Issued  int64          `json:"issued"` // ms since the epoch
	Secure  bool           `json:"secure"`
	Time    string         `json:"time"` // Date.toString()
	URL     string         `json:"url"`
	XDomain bool           `json:"xdomain"`
}

// Socket is a serialized socket (all_sockets, socket_connected).
type Socket struct {
	ID        string `json:"id"`
	ClientID  string `json:"clientId"` // the engine.io id's first 12 characters
	Transport string `json:"transport"`
	Nsp       string `json:"nsp"`
	// Data is socket.data without its _admin field.
	Data      json.RawMessage `json:"data"`
	Handshake Handshake       `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

// socketUpdate is socket_updated's payload: id and nsp, and either the
// new transport or the new data.
type socketUpdate struct {
	ID        string          `json:"id"`
	Nsp       string          `json:"nsp"`
	Transport string          `json:"transport,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Date formats t as JSON.stringify(new Date()) does: UTC, milliseconds.
func Date(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
