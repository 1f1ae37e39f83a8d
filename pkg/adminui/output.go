package adminui

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// The listings of `sio admin sockets|rooms|servers`: a table, or JSON
// lines of these records (one per socket, room or server).

// SocketRecord is a socket as `sio admin sockets -o json` prints it.
type SocketRecord struct {
	ID          string          `json:"id"`
	Nsp         string          `json:"nsp"`
	ClientID    string          `json:"clientId"`
	Transport   string          `json:"transport"`
	Address     string          `json:"address"`
	Rooms       []string        `json:"rooms"`
	ConnectedAt *time.Time      `json:"connectedAt,omitempty"`
	Handshake   Handshake       `json:"handshake"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// ServerRecord is a server as `sio admin servers -o json` prints it.
type ServerRecord struct {
	ServerID            string             `json:"serverId"`
	Hostname            string             `json:"hostname"`
	PID                 int                `json:"pid"`
	Uptime              float64            `json:"uptime"`
	ClientsCount        int                `json:"clientsCount"`
	PollingClientsCount int                `json:"pollingClientsCount"`
	Namespaces          []NamespaceDetails `json:"namespaces"`
	LastSeen            time.Time          `json:"lastSeen"`
}

// Record makes the listing record of a socket.
func (s SocketInfo) Record() SocketRecord {
	r := SocketRecord{ID: s.ID, Nsp: s.Nsp, ClientID: s.ClientID, Transport: s.Transport,
		Address: s.Handshake.Address, Rooms: s.Rooms, Handshake: s.Handshake}
	if r.Rooms == nil {
		r.Rooms = []string{}
	}
	if !s.ConnectedAt.IsZero() {
		t := s.ConnectedAt
		r.ConnectedAt = &t
	}
	if len(s.Data) > 0 && string(s.Data) != "{}" {
		r.Data = s.Data
	}
	return r
}

// Record makes the listing record of a server.
func (s ServerInfo) Record() ServerRecord {
	ns := s.Namespaces
	if ns == nil {
		ns = []NamespaceDetails{}
	}
	return ServerRecord{ServerID: s.ServerID, Hostname: s.Hostname, PID: s.PID, Uptime: s.Uptime,
		ClientsCount: s.ClientsCount, PollingClientsCount: s.PollingClientsCount, Namespaces: ns, LastSeen: s.LastSeen}
}

// WriteJSONLines writes each record on its own line.
func WriteJSONLines[T any](w io.Writer, records []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// WriteSocketsTable writes the sockets as an aligned table.
func WriteSocketsTable(w io.Writer, socks []SocketInfo, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAMESPACE\tTRANSPORT\tADDRESS\tCONNECTED\tROOMS")
	for _, s := range socks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Nsp, s.Transport, s.Handshake.Address,
			since(s.ConnectedAt, now), strings.Join(publicRooms(s.ID, s.Rooms), ","))
	}
	return tw.Flush()
}

// WriteRoomsTable writes the rooms as an aligned table.
func WriteRoomsTable(w io.Writer, rooms []Room) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tROOM\tSOCKETS\tMEMBERS")
	for _, r := range rooms {
		name := r.Name
		if r.Private {
			name += " (private)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.Nsp, name, len(r.Members), strings.Join(r.Members, ","))
	}
	return tw.Flush()
}

// WriteServersTable writes the servers as an aligned table.
func WriteServersTable(w io.Writer, servers []ServerInfo) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tHOSTNAME\tPID\tUPTIME\tCLIENTS\tPOLLING\tNAMESPACES")
	for _, s := range servers {
		ns := make([]string, 0, len(s.Namespaces))
		for _, n := range s.Namespaces {
			ns = append(ns, fmt.Sprintf("%s=%d", n.Name, n.SocketsCount))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\n", s.ServerID, s.Hostname, s.PID,
			Duration(time.Duration(s.Uptime*float64(time.Second))), s.ClientsCount, s.PollingClientsCount, strings.Join(ns, " "))
	}
	return tw.Flush()
}

// publicRooms leaves out a socket's own room.
func publicRooms(id string, rooms []string) []string {
	out := make([]string, 0, len(rooms))
	for _, r := range rooms {
		if r != id {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

func since(t, now time.Time) string {
	if t.IsZero() {
		return "-" // listed by all_sockets, which has no connection time
	}
	return Duration(now.Sub(t)) + " ago"
}

// Duration prints d coarsely: 42s, 5m12s, 3h04m, 2d05h.
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// Describe is a one-line human account of an update (`sio admin --watch`
// in pretty mode).
func (u Update) Describe() string {
	who := u.Nsp + " " + u.ID
	switch u.Event {
	case EventConfig:
		return "config " + strings.Join(featureNames(u.Config), " ")
	case EventAllSockets:
		return fmt.Sprintf("all_sockets: %d sockets", len(u.Sockets))
	case EventServerStats:
		s := u.Stats
		return fmt.Sprintf("server_stats %s (%s pid %d) up %s, %d clients (%d polling)", s.ServerID, s.Hostname, s.PID,
			Duration(time.Duration(s.Uptime*float64(time.Second))), s.ClientsCount, s.PollingClientsCount)
	case EventSocketConnected:
		return fmt.Sprintf("socket_connected %s via %s from %s", who, u.Socket.Transport, u.Socket.Handshake.Address)
	case EventSocketUpdated:
		if u.Transport != "" {
			return fmt.Sprintf("socket_updated %s transport %s", who, u.Transport)
		}
		return fmt.Sprintf("socket_updated %s data %s", who, u.Data)
	case EventSocketDisconnected:
		return fmt.Sprintf("socket_disconnected %s (%s)", who, u.Reason)
	case EventRoomJoined, EventRoomLeft:
		return fmt.Sprintf("%s %s %q", u.Event, who, u.Room)
	case EventReceived, EventSent:
		raw := make([]string, len(u.Args))
		for i, a := range u.Args {
			raw[i] = string(a)
		}
		return fmt.Sprintf("%s %s [%s]", u.Event, who, strings.Join(raw, ","))
	}
	return u.Event
}

func featureNames(c *Config) []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.SupportedFeatures))
	for i, f := range c.SupportedFeatures {
		out[i] = string(f)
	}
	return out
}
