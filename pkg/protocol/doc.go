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
// Nesting depth. Node's JSON.parse is a loop, not a recursion: Node 20
// parses arrays nested 10,000,000 deep, so a socket.io server accepts an
// event whose argument nests as deep as its maximum payload allows (about
// 500,000 levels in 1 MB). encoding/json stops at 10,000 levels, and sio
// used to close such a session. Text packets are now checked with
// ValidJSON, which has no depth limit and is a loop too: linear time, one
// byte of state per open level. The data of a binary packet is walked to
// find its placeholders, also with a loop (linear time, whatever the
// depth), whose stack frame per open object is larger: it stops at
// MaxBinaryNesting (10,000) levels with ErrNestingTooDeep. socket.io-parser
// walks it with a recursion, and a Node server closes the connection at
// about 5,200 levels (stack overflow). Nothing here recurses on input depth
// except the msgpack codec, bounded at 1,000 levels.
//
// Everything here is safe for concurrent use except a Decoder, which
// belongs to one connection's reader.
//
// Specs: engine.io-protocol and socket.io-protocol (github.com/socketio),
// and docs/PROTOCOL.md.
package protocol
