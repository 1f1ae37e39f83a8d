package eioserver

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sio-dev/sio/pkg/internal/wsframe"
	"github.com/sio-dev/sio/pkg/protocol"
)

// The fuzz target of the server's WebSocket writer and reader together
// (wswriter.go, wsreader.go); the decoder's own target, FuzzWebSocketReader,
// is in pkg/internal/wsframe. scripts/fuzz.sh runs them. The seed corpus is
// in testdata/fuzz/<target>/ and in the f.Add calls, and plain `go test`
// replays it.

// readerLog records what a reader outside any connection reports.
type readerLog struct {
	msgs      []string // "t:" or "b:" + data
	pongs     []string
	closeCode int
	ends      int
	err       error
}

func newLoggedReader(limit int64, log *readerLog) *wsReader {
	return &wsReader{dec: wsframe.Decoder{Limit: limit}, hooks: &readerHooks{
		handle: func(bin bool, data []byte) bool {
			kind := "t:"
			if bin {
				kind = "b:"
			}
			log.msgs = append(log.msgs, kind+string(data))
			return true
		},
		end: func(err error) {
			log.ends++
			log.err = err
		},
		pong: func(p []byte) { log.pongs = append(log.pongs, string(p)) },
		closed: func(code int, _ []byte) {
			if log.closeCode == 0 {
				log.closeCode = code
			}
		},
	}}
}

// feedReader hands input to r the way burst does (reads into the free
// room of one buffer, then consume), each read at most the next size from
// sizes (cycled; 0 → 1) times scale. It reports whether the reader would
// read on after the input.
func feedReader(r *wsReader, input, sizes []byte, scale int) bool {
	buf := make([]byte, 0, 4096) // readBufPool's size
	fed := 0
	for i := 0; fed < len(input); i++ {
		want := len(input)
		if len(sizes) > 0 {
			want = max(int(sizes[i%len(sizes)]), 1) * scale
		}
		buf = wsframe.GrowReadBuf(buf)
		n := copy(buf[len(buf):cap(buf)], input[fed:min(fed+want, len(input))])
		buf = buf[:len(buf)+n]
		fed += n
		if !r.consume(&buf) {
			return false
		}
	}
	return true
}

// maskFrames turns the unmasked frames the server writes into the masked
// frames a client sends, frame by frame (the header as appendWSHeader
// wrote it, plus the mask bit and key).
func maskFrames(t *testing.T, b []byte, key [4]byte) []byte {
	var out []byte
	for len(b) > 0 {
		if len(b) < 2 || b[1]&0x80 != 0 {
			t.Fatalf("bad server frame %x", b[:min(len(b), 10)])
		}
		hdr, n := 2, int(b[1]&0x7f)
		switch n {
		case 126:
			hdr, n = 4, int(binary.BigEndian.Uint16(b[2:]))
		case 127:
			hdr, n = 10, int(binary.BigEndian.Uint64(b[2:]))
		}
		out = append(out, b[0], b[1]|0x80)
		out = append(out, b[2:hdr]...)
		out = append(out, key[:]...)
		start := len(out)
		out = append(out, b[hdr:hdr+n]...)
		wsframe.Mask(key, out[start:])
		b = b[hdr+n:]
	}
	return out
}

// fragment writes the frame payload of one message as k frames with
// appendWSHeader (the first with op, the others continuations, FIN on the
// last), with a ping between the first two when ping is set.
func fragment(op byte, payload []byte, k int, ping []byte) []byte {
	var out []byte
	if k <= 1 {
		if ping != nil {
			out = append(wsframe.AppendHeader(out, wsframe.OpPing, len(ping)), ping...)
		}
		return append(wsframe.AppendHeader(out, op, len(payload)), payload...)
	}
	step := max(len(payload)/k, 1)
	for i := 0; i < k; i++ {
		part := payload[min(i*step, len(payload)):]
		if i < k-1 {
			part = part[:min(step, len(part))]
		}
		fop := byte(wsframe.OpContinuation)
		if i == 0 {
			fop = op
		}
		h := wsframe.AppendHeader(nil, fop, len(part))
		if i < k-1 {
			h[0] &^= 0x80
		}
		out = append(append(out, h...), part...)
		if i == 0 && ping != nil {
			out = append(append(out, wsframe.AppendHeader(nil, wsframe.OpPing, len(ping))...), ping...)
		}
	}
	return out
}

// FuzzWebSocketRoundTrip: engine.io packets encoded by the writer
// (appendWSFrame), some fragmented with appendWSHeader, pings and pongs in
// between, masked as a client does, come out of the reader whole and in
// order, whatever the split across reads.
//
// script is read as records: flags, length, data. flags&1 binary, &2 v3,
// &4 grow the data past 65,535 bytes (64-bit length), &8 past 125 (16-bit),
// &0x70 fragments-1, &0x80 a ping inside the message; the type of a text
// packet is length%7.
func FuzzWebSocketRoundTrip(f *testing.F) {
	f.Add([]byte("\x00\x05hello\x01\x02\x01\x02"), []byte{1}, uint32(0x12345678))
	f.Add([]byte("\xb0\x0cfragmented!!\x0b\x03abc\x08\x01y"), []byte{3, 1, 9}, uint32(0))
	f.Add([]byte("\x04\x01z\x06\x02ab"), []byte{255, 255, 17}, uint32(0xdeadbeef))
	f.Fuzz(func(t *testing.T, script, sizes []byte, k uint32) {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], k)
		type sent struct {
			p protocol.EnginePacket
			v protocol.EIO
		}
		var wire []byte
		var want []sent
		var pings []string
		for len(script) >= 2 && len(wire) < 256<<10 {
			flags, n := script[0], int(script[1])
			script = script[2:]
			data := bytes.Clone(script[:min(n, len(script))])
			script = script[len(data):]
			switch {
			case flags&4 != 0:
				data = bytes.Repeat(append(data, '.'), 65536/(len(data)+1)+1)
			case flags&8 != 0:
				data = bytes.Repeat(append(data, '.'), 126/(len(data)+1)+1)
			}
			v := protocol.EIO4
			if flags&2 != 0 {
				v = protocol.EIO3
			}
			p := protocol.EnginePacket{Type: protocol.EngineType(n % 7), Data: data}
			if flags&1 != 0 {
				p = protocol.EnginePacket{Type: protocol.EngineMessage, Data: data, Binary: true}
			} else {
				p.Data = []byte(strings.ToValidUTF8(string(data), "?"))
			}
			frame := appendWSFrame(nil, p, v)
			var ping []byte
			if flags&0x80 != 0 {
				ping = []byte(fmt.Sprintf("ping %d", len(pings)))
				pings = append(pings, string(ping))
			}
			hdr := 2
			switch frame[1] {
			case 126:
				hdr = 4
			case 127:
				hdr = 10
			}
			wire = append(wire, fragment(frame[0]&0x0f, frame[hdr:], int(flags>>4&7)+1, ping)...)
			wire = append(wire, wsframe.AppendHeader(nil, wsframe.OpPong, 1)...) // an unsolicited pong, ignored
			wire = append(wire, 'x')
			want = append(want, sent{p, v})
		}
		if len(want) == 0 {
			return
		}
		scale := 1
		if len(wire) > 16<<10 { // 1-byte reads of a 256 kB input take too long for a fuzz run
			scale = 256
		}
		var log readerLog
		r := newLoggedReader(1<<20, &log)
		if !feedReader(r, maskFrames(t, wire, key), sizes, scale) || log.ends != 0 {
			t.Fatalf("reading stopped: %v", log.err)
		}
		if len(log.msgs) != len(want) || !slices.Equal(log.pongs, pings) {
			t.Fatalf("%d messages, %d pongs; want %d, %d", len(log.msgs), len(log.pongs), len(want), len(pings))
		}
		for i, m := range log.msgs {
			got, err := parseFrame(m[0] == 'b', []byte(m[2:]), want[i].v)
			w := want[i].p
			if err != nil || got.Type != w.Type || got.Binary != w.Binary || !bytes.Equal(got.Data, w.Data) {
				t.Fatalf("message %d: got %v %q (%v), want %v %q", i, got.Type, got.Data, err, w.Type, w.Data)
			}
		}
	})
}
