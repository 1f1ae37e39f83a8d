package protocol

import (
	"bytes"
	"testing"
)

func TestTraceCloneOwnsItsBytes(t *testing.T) {
	raw := []byte(`451-["up",{"_placeholder":true,"num":0}]`)
	att := []byte{1, 2}
	tr := Trace{
		Engine: EnginePacket{Type: EngineMessage, Data: raw[1:]},
		Packet: Packet{Type: PacketBinaryEvent, Data: raw[4:], Attachments: [][]byte{att}, NumAttachments: 1},
		Raw:    [][]byte{raw, att},
	}
	c := tr.Clone()
	for i := range raw {
		raw[i] = 'x'
	}
	att[0] = 9
	if !bytes.Equal(c.Raw[0], []byte(`451-["up",{"_placeholder":true,"num":0}]`)) || c.Raw[1][0] != 1 {
		t.Errorf("raw frames changed with the original: %q", c.Raw)
	}
	if string(c.Packet.Data) != `["up",{"_placeholder":true,"num":0}]` || c.Packet.Attachments[0][0] != 1 {
		t.Errorf("packet changed with the original: %s %v", c.Packet.Data, c.Packet.Attachments)
	}
	if string(c.Engine.Data) != `51-["up",{"_placeholder":true,"num":0}]` {
		t.Errorf("engine data changed with the original: %s", c.Engine.Data)
	}
	if (Trace{}).Clone().Raw != nil {
		t.Error("a nil slice should stay nil")
	}
}
