package protocol

import (
	"bytes"
	"time"
)

// Direction says whether a traced packet was received or sent.
type Direction uint8

const (
	In  Direction = iota // received by this process
	Out                  // sent by this process
)

func (d Direction) String() string {
	if d == Out {
		return "out"
	}
	return "in"
}

// Layer says which protocol a trace describes.
type Layer uint8

const (
	LayerEngine Layer = iota // an Engine.IO packet
	LayerSocket              // a complete Socket.IO packet
)

// Trace is one packet seen by a server or client Tap: every Engine.IO
// packet in and out, and every complete Socket.IO packet. Traces are data
// for debuggers; the slices must not be modified and may be reused after
// the Tap returns, so a Tap that keeps them copies them.
type Trace struct {
	Time      time.Time
	Dir       Direction
	Layer     Layer
	EngineSID string // the engine.io session id
	SID       string // the Socket.IO socket id, when known
	Transport string // "polling" or "websocket"
	EIO       EIO

	Engine EnginePacket // Layer == LayerEngine
	Packet Packet       // Layer == LayerSocket, attachments included

	// Raw holds the exact frames: the engine.io packet as framed by its
	// transport, or a Socket.IO packet's text followed by its attachments.
	Raw [][]byte
}

// Clone returns t with its own copies of every byte slice, for a Tap that
// keeps traces after it returns.
func (t Trace) Clone() Trace {
	t.Engine.Data = bytes.Clone(t.Engine.Data)
	t.Packet.Data = bytes.Clone(t.Packet.Data)
	t.Packet.Attachments = cloneAll(t.Packet.Attachments)
	t.Raw = cloneAll(t.Raw)
	return t
}

func cloneAll(in [][]byte) [][]byte {
	if in == nil {
		return nil
	}
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = bytes.Clone(b)
	}
	return out
}
