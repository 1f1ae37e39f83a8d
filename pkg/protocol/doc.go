// Package protocol is sio's pure core: the Engine.IO (v3, v4) and
// Socket.IO (v4, v5) wire formats, with no I/O, no goroutines and no clock.
//
// Engine.IO: ParseEngineText / ParseEngineBinary / AppendEngineFrame for
// WebSocket frames, PayloadV4 / AppendPayloadV4 and PayloadV3,
// PayloadV3Binary / AppendPayloadV3, AppendPayloadV3Binary for polling
// bodies, Handshake for the open packet and EngineError for the HTTP
// endpoint's error table.
//
// Socket.IO: ParsePacket / AppendPacket for one packet's text form, a
// Decoder that reassembles binary packets from their attachments with
// bounds on count and size, Deconstruct / InlineBinary / ExtractBinary for
// placeholders, and the Codec interface with the JSON and msgpack formats.
//
// Event arguments stay raw JSON (json.RawMessage) so that what a peer sent
// is shown and forwarded byte for byte. Parse functions never panic: bad
// input is a *SyntaxError with an offset, or a *PayloadError.
//
// Everything here is safe for concurrent use except a Decoder, which
// belongs to one connection's reader.
//
// Specs: engine.io-protocol and socket.io-protocol (github.com/socketio),
// and docs/PROTOCOL.md.
package protocol
