package protocol

// Codec turns Socket.IO packets into engine.io messages and back. The
// default is the JSON text format of socket.io-parser; MsgpackCodec speaks
// socket.io-msgpack-parser. Both describe packets the same way: JSON data
// with placeholders, and attachments on the side.
type Codec interface {
	// Name is "json" or "msgpack".
	Name() string
	// Encode returns the engine.io messages carrying p, in wire order.
	Encode(p *Packet) ([]EnginePacket, error)
	// NewDecoder returns a decoder for one connection.
	NewDecoder(v EIO, l Limits) PacketDecoder
}

// PacketDecoder is the per-connection half of a Codec. Add is fed each
// engine.io message's data and returns a packet when one is complete.
type PacketDecoder interface {
	Add(data []byte, binary bool) (Packet, bool, error)
	Reset()
}

// JSONCodec is socket.io-parser's format: a text message, then each
// attachment as a binary message.
type JSONCodec struct{}

func (JSONCodec) Name() string { return "json" }

func (JSONCodec) Encode(p *Packet) ([]EnginePacket, error) {
	out := make([]EnginePacket, 0, 1+len(p.Attachments))
	out = append(out, EnginePacket{Type: EngineMessage, Data: AppendPacket(nil, p)})
	for _, a := range p.Attachments {
		out = append(out, EnginePacket{Type: EngineMessage, Data: a, Binary: true})
	}
	return out, nil
}

func (JSONCodec) NewDecoder(v EIO, l Limits) PacketDecoder {
	return &Decoder{Version: v, Limits: l}
}
