package server

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/sio-dev/sio/pkg/protocol"
)

// recoveryStore is connection state recovery for one namespace
// (socket.io ≥4.6 connectionStateRecovery with the in-memory adapter,
// PROTOCOL.md §3): the non-volatile, ack-less EVENTs broadcast within the
// window, each with an offset, and the sessions of sockets that ended for a
// recoverable reason. Both are bounded: by the window, and the packets by
// a count.
type recoveryStore struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu       sync.Mutex
	seq      uint64
	packets  []storedPacket // ascending seq; the live ones are packets[start:]
	start    int
	sessions map[string]*savedSession
	order    []*savedSession // by disconnection time, for expiry
}

type storedPacket struct {
	seq    uint64
	at     time.Time
	out    *Outgoing
	rooms  []string
	except []string
}

type savedSession struct {
	sid, pid string
	rooms    []string
	data     map[string]any
	at       time.Time
}

func newRecoveryStore(window time.Duration, max int, now func() time.Time) *recoveryStore {
	return &recoveryStore{window: window, max: max, now: now, sessions: make(map[string]*savedSession)}
}

// offsets are opaque to clients; ours are the sequence number in base 36.
func formatOffset(seq uint64) string { return strconv.FormatUint(seq, 36) }

// storeEvent encodes an event with the next offset as its last argument and
// stores it. The arguments are encoded (which may run user MarshalJSON
// code) before the lock is taken; under it, the offset is spliced in, so
// that offset order and buffer order agree.
func (r *recoveryStore) storeEvent(codec protocol.Codec, nsp, event string, args []any, opts BroadcastOptions) (*Outgoing, error) {
	plain, err := encodeEvent(codec, nsp, event, args, 0, false, "")
	if err != nil {
		return nil, err
	}
	rooms, except := slices.Clone(opts.Rooms), slices.Clone(opts.Except)
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.seq + 1
	out, err := withOffset(codec, plain, formatOffset(seq))
	if err != nil {
		return nil, err
	}
	out.seq = seq
	r.seq = seq
	now := r.now()
	r.pruneLocked(now)
	if n := len(r.packets) - r.start; n >= r.max {
		r.dropLocked(n - r.max + 1)
	}
	r.packets = append(r.packets, storedPacket{seq: seq, at: now, out: out, rooms: rooms, except: except})
	return out, nil
}

// withOffset re-encodes an EVENT with offset appended to its arguments.
func withOffset(codec protocol.Codec, plain *Outgoing, offset string) (*Outgoing, error) {
	p := plain.Packet
	data := p.Data
	buf := make([]byte, 0, len(data)+len(offset)+3)
	buf = append(buf, data[:len(data)-1]...) // without the closing ']'
	buf = append(buf, ',')
	buf = protocol.AppendString(buf, offset)
	buf = append(buf, ']')
	p.Data = buf
	return encodePacket(codec, p)
}

func (r *recoveryStore) pruneLocked(now time.Time) {
	live := r.packets[r.start:]
	cut := 0
	for cut < len(live) && now.Sub(live[cut].at) > r.window {
		cut++
	}
	if cut > 0 {
		r.dropLocked(cut)
	}
	drop := 0
	for drop < len(r.order) && now.Sub(r.order[drop].at) > r.window {
		if s := r.order[drop]; r.sessions[s.pid] == s {
			delete(r.sessions, s.pid)
		}
		drop++
	}
	if drop > 0 {
		r.order = slices.Delete(r.order, 0, drop)
	}
}

// dropLocked forgets the n oldest packets. The live ones are
// packets[start:]; the slice is compacted only once half of it is dead, so
// that a full buffer costs O(1) per stored packet, not a shift of all.
func (r *recoveryStore) dropLocked(n int) {
	clear(r.packets[r.start : r.start+n])
	r.start += n
	if r.start == len(r.packets) {
		r.packets, r.start = r.packets[:0], 0
	} else if r.start > len(r.packets)/2 {
		k := copy(r.packets, r.packets[r.start:])
		clear(r.packets[k:])
		r.packets, r.start = r.packets[:k], 0
	}
}

func (r *recoveryStore) persist(s savedSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.at = r.now()
	r.pruneLocked(s.at)
	saved := &s
	r.sessions[s.pid] = saved
	r.order = append(r.order, saved)
}

// restore takes the session pid if offset is a packet still stored; the
// packets missed since are read later with since, once the socket is in
// its rooms again (see Namespace.doConnect).
func (r *recoveryStore) restore(pid, offset string) (*savedSession, uint64, bool) {
	seq, err := strconv.ParseUint(offset, 36, 64)
	if err != nil {
		return nil, 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(r.now())
	s := r.sessions[pid]
	if s == nil {
		return nil, 0, false
	}
	live := r.packets[r.start:]
	i := sort.Search(len(live), func(i int) bool { return live[i].seq >= seq })
	if i == len(live) || live[i].seq != seq {
		return nil, 0, false
	}
	delete(r.sessions, pid)
	return s, seq, true
}

// since returns the stored packets after seq that a socket in rooms was a
// target of, and the last sequence number stored so far: any packet up to
// it that reaches the socket through the adapter as well is a duplicate.
func (r *recoveryStore) since(seq uint64, rooms []string) ([]*Outgoing, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	live := r.packets[r.start:]
	i := sort.Search(len(live), func(i int) bool { return live[i].seq > seq })
	var missed []*Outgoing
	for _, p := range live[i:] {
		if includes(rooms, p.rooms, p.except) {
			missed = append(missed, p.out)
		}
	}
	return missed, r.seq
}

// includes reports whether a session in rooms was a target of a broadcast.
func includes(rooms, to, except []string) bool {
	for _, e := range except {
		if slices.Contains(rooms, e) {
			return false
		}
	}
	if len(to) == 0 {
		return true
	}
	for _, t := range to {
		if slices.Contains(rooms, t) {
			return true
		}
	}
	return false
}

// tryRecover restores a session from a CONNECT payload carrying string
// "pid" and "offset" (middlewares are skipped, as Node's default). The
// socket's replay starts after the returned sequence number.
func (n *Namespace) tryRecover(c *conn, auth json.RawMessage) (*Socket, uint64, bool) {
	var req struct {
		PID    any `json:"pid"`
		Offset any `json:"offset"`
	}
	if json.Unmarshal(auth, &req) != nil {
		return nil, 0, false
	}
	pid, ok1 := req.PID.(string)
	offset, ok2 := req.Offset.(string)
	if !ok1 || !ok2 {
		return nil, 0, false
	}
	saved, seq, ok := n.rec.restore(pid, offset)
	if !ok {
		return nil, 0, false
	}
	s := newSocket(n, c, saved.sid, auth)
	s.rec = &socketRecovery{pid: saved.pid}
	s.recovered = true
	s.data = saved.data
	for _, room := range saved.rooms {
		if room != saved.sid {
			s.rec.restoredRooms = append(s.rec.restoredRooms, room)
		}
	}
	return s, seq, true
}
