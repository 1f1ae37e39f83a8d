package wsframe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

// frame builds one frame; masked with a fixed key when masked is set.
func frame(fin bool, op byte, payload string, masked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var m byte
	if masked {
		m = 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, m|byte(n))
	case n <= 0xffff:
		f = append(f, m|126, byte(n>>8), byte(n))
	default:
		f = append(f, m|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	start := len(f)
	f = append(f, payload...)
	Mask(key, f[start:])
	return f
}

func clientFrame(fin bool, op byte, payload string) []byte { return frame(fin, op, payload, true) }

// decodeLog is a Handler that records what it gets.
type decodeLog struct {
	msgs      []string // "t:" or "b:" + data
	pings     []string
	closeCode int
	stopAfter int // stop after this many messages (0: never)
}

func (l *decodeLog) Message(op byte, data []byte) bool {
	kind := "t:"
	if op == OpBinary {
		kind = "b:"
	}
	l.msgs = append(l.msgs, kind+string(data))
	return l.stopAfter == 0 || len(l.msgs) < l.stopAfter
}
func (l *decodeLog) Ping(p []byte)            { l.pings = append(l.pings, string(p)) }
func (l *decodeLog) Close(code int, _ []byte) { l.closeCode = code }

// feed hands input to d the way a reader does (reads into the free room of
// one buffer grown by GrowReadBuf, then Consume), each read at most the
// next size from sizes (cycled; 0 → 1). It returns whether to read on and
// the error, and fails t when the decoder and buffer hold memory the peer
// has not sent.
func feed(t *testing.T, d *Decoder, h Handler, input, sizes []byte) (bool, error) {
	t.Helper()
	buf := make([]byte, 0, 4096)
	fed := 0
	for i := 0; fed < len(input); i++ {
		want := len(input)
		if len(sizes) > 0 {
			want = max(int(sizes[i%len(sizes)]), 1)
		}
		buf = GrowReadBuf(buf)
		n := copy(buf[len(buf):cap(buf)], input[fed:min(fed+want, len(input))])
		buf = buf[:len(buf)+n]
		fed += n
		more, err := d.Consume(&buf, h)
		if !more || err != nil {
			return more, err
		}
		// Memory follows what the peer sent, not what a header announced.
		if held := cap(buf) + cap(d.msg); held > 4*fed+ReadPrealloc+4096 {
			t.Fatalf("decoder holds %d bytes after %d bytes of input", held, fed)
		}
	}
	return true, nil
}

func closeCodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestDecodeMessages(t *testing.T) {
	input := slices.Concat(
		clientFrame(true, OpText, "4hello"),
		clientFrame(false, OpText, "4frag"), clientFrame(true, OpPing, "p"), clientFrame(true, OpContinuation, "ment"),
		clientFrame(true, OpPong, "ignored"),
		clientFrame(true, OpBinary, "\x01\x02"),
		clientFrame(true, OpText, strings.Repeat("x", 70000)),
		clientFrame(true, OpClose, "\x03\xe8bye"),
		clientFrame(true, OpText, "after the close"),
	)
	for _, sizes := range [][]byte{nil, {1}, {3, 1, 7}, {200}} {
		var l decodeLog
		more, err := feed(t, &Decoder{}, &l, bytes.Clone(input), sizes)
		if more || !errors.Is(err, ErrPeerClosed) || l.closeCode != 1000 {
			t.Fatalf("sizes %v: more=%v err=%v close %d", sizes, more, err, l.closeCode)
		}
		want := []string{"t:4hello", "t:4fragment", "b:\x01\x02", "t:" + strings.Repeat("x", 70000)}
		if !slices.Equal(l.msgs, want) || !slices.Equal(l.pings, []string{"p"}) {
			t.Fatalf("sizes %v: %d messages %q, pings %q", sizes, len(l.msgs), l.msgs[:min(len(l.msgs), 3)], l.pings)
		}
	}
}

// The violations and the close codes Node's ws answers them with.
func TestDecodeViolations(t *testing.T) {
	unmasked := frame(true, OpText, "4x", false)
	tests := []struct {
		name  string
		input []byte
		limit int64
		code  int
	}{
		{"unmasked client frame", unmasked, 0, CloseProtocolError},
		{"reserved bits", func() []byte { f := clientFrame(true, OpText, "4x"); f[0] |= 0x40; return f }(), 0, CloseProtocolError},
		{"unknown opcode", clientFrame(true, 0x3, "4x"), 0, CloseProtocolError},
		{"unknown control opcode", clientFrame(true, 0xb, ""), 0, CloseProtocolError},
		{"fragmented ping", clientFrame(false, OpPing, ""), 0, CloseProtocolError},
		{"ping over 125 bytes", clientFrame(true, OpPing, strings.Repeat("p", 126)), 0, CloseProtocolError},
		{"lone continuation", clientFrame(true, OpContinuation, "4x"), 0, CloseProtocolError},
		{"message inside a message", slices.Concat(clientFrame(false, OpText, "4"), clientFrame(true, OpText, "4")), 0, CloseProtocolError},
		{"64-bit length with the top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 0, CloseTooBig},
		{"64-bit length of 2^53", []byte{0x82, 0xff, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, CloseTooBig},
		{"invalid UTF-8", clientFrame(true, OpText, "4\xff\xfe"), 0, CloseInvalidData},
		{"invalid UTF-8 across fragments", slices.Concat(clientFrame(false, OpText, "4\xe2\x82"), clientFrame(true, OpContinuation, "x")), 0, CloseInvalidData},
		{"too big", clientFrame(true, OpText, strings.Repeat("x", 101)), 100, CloseTooBig},
		{"too big in fragments", slices.Concat(clientFrame(false, OpText, strings.Repeat("x", 60)), clientFrame(true, OpContinuation, strings.Repeat("x", 60))), 100, CloseTooBig},
		{"one-byte close", clientFrame(true, OpClose, "\x03"), 0, CloseProtocolError},
		{"close code 1005", clientFrame(true, OpClose, "\x03\xed"), 0, CloseProtocolError},
		{"close code 2000", clientFrame(true, OpClose, "\x07\xd0"), 0, CloseProtocolError},
		{"close reason not UTF-8", clientFrame(true, OpClose, "\x03\xe8\xff"), 0, CloseInvalidData},
	}
	for _, tt := range tests {
		var l decodeLog
		more, err := feed(t, &Decoder{Limit: tt.limit}, &l, tt.input, nil)
		if more || closeCodeOf(err) != tt.code || l.closeCode != 0 {
			t.Errorf("%s: more=%v err=%v (code %d), close frame %d; want code %d", tt.name, more, err, closeCodeOf(err), l.closeCode, tt.code)
		}
	}
	// A header over the limit fails before its payload comes.
	var l decodeLog
	if _, err := feed(t, &Decoder{Limit: 100}, &l, []byte{0x81, 0xfe, 0x10, 0x00}, nil); closeCodeOf(err) != CloseTooBig {
		t.Errorf("announced too big: %v", err)
	}
}

func TestDecodeFromServer(t *testing.T) {
	var l decodeLog
	more, err := feed(t, &Decoder{FromServer: true}, &l, slices.Concat(frame(true, OpText, "0{}", false), frame(true, OpPing, "", false)), nil)
	if !more || err != nil || !slices.Equal(l.msgs, []string{"t:0{}"}) || len(l.pings) != 1 {
		t.Fatalf("more=%v err=%v %q %q", more, err, l.msgs, l.pings)
	}
	if _, err := feed(t, &Decoder{FromServer: true}, &l, clientFrame(true, OpText, "x"), nil); closeCodeOf(err) != CloseProtocolError {
		t.Fatalf("a masked server frame: %v", err)
	}
}

// The handler's stop ends Decode right after that message: the next frame
// stays in the buffer.
func TestDecodeSkipUTF8Validation(t *testing.T) {
	var l decodeLog
	more, err := feed(t, &Decoder{SkipUTF8Validation: true}, &l, clientFrame(true, OpText, "4\xff"), nil)
	if !more || err != nil || !slices.Equal(l.msgs, []string{"t:4\xff"}) {
		t.Fatalf("more=%v err=%v %q", more, err, l.msgs)
	}
	if _, err := feed(t, &Decoder{SkipUTF8Validation: true}, &l, clientFrame(true, OpClose, "\x03\xe8\xff"), nil); closeCodeOf(err) != CloseInvalidData {
		t.Fatalf("close reason not UTF-8: %v", err)
	}
}

func TestDecodeStop(t *testing.T) {
	input := slices.Concat(clientFrame(true, OpText, "a"), clientFrame(true, OpText, "b"))
	l := decodeLog{stopAfter: 1}
	d := &Decoder{}
	used, _, stop, err := d.Decode(bytes.Clone(input), &l)
	if !stop || err != nil || used != len(clientFrame(true, OpText, "a")) || !slices.Equal(l.msgs, []string{"t:a"}) {
		t.Fatalf("used %d stop %v err %v %q", used, stop, err, l.msgs)
	}
}

func TestAppendClientFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 125, 126, 0xffff, 0x10000} {
		p := bytes.Repeat([]byte{'a'}, n)
		var l decodeLog
		if more, err := feed(t, &Decoder{}, &l, AppendClientFrame(nil, OpText, p), nil); !more || err != nil || len(l.msgs) != 1 || l.msgs[0] != "t:"+string(p) {
			t.Fatalf("%d bytes: more=%v err=%v", n, more, err)
		}
		var s decodeLog
		f := append(AppendHeader(nil, OpBinary, n), p...)
		if more, err := feed(t, &Decoder{FromServer: true}, &s, f, nil); !more || err != nil || len(s.msgs) != 1 || s.msgs[0] != "b:"+string(p) {
			t.Fatalf("%d bytes, server frame: more=%v err=%v", n, more, err)
		}
	}
}

func TestMask(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for n := range 20 {
		b := bytes.Repeat([]byte{0xaa}, n)
		Mask(key, b)
		for i, c := range b {
			if c != 0xaa^key[i%4] {
				t.Fatalf("%d bytes: byte %d is %x", n, i, c)
			}
		}
	}
}

// FuzzWebSocketReader: any bytes from a client, in any split across reads,
// neither panic nor make the decoder hold memory beyond what was sent, and
// the split does not change what is delivered.
func FuzzWebSocketReader(f *testing.F) {
	f.Add(clientFrame(true, OpText, "4hello"), []byte{1})
	f.Add(slices.Concat(clientFrame(false, OpText, "4frag"), clientFrame(true, OpPing, "p"),
		clientFrame(true, OpContinuation, "ment")), []byte{3, 1, 7})
	f.Add(slices.Concat(clientFrame(true, OpBinary, "\x01\x02"), clientFrame(true, OpClose, "\x03\xe8bye")), []byte{2})
	f.Add([]byte{0x81, 0xff, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40}, []byte{10}) // announces 1 MB, sends nothing
	f.Add(clientFrame(true, OpText, strings.Repeat("x", 300)), []byte{200, 5})
	f.Fuzz(func(t *testing.T, input, sizes []byte) {
		for _, limit := range []int64{100, 1 << 20} {
			var whole, split decodeLog
			okWhole, errWhole := feed(t, &Decoder{Limit: limit}, &whole, bytes.Clone(input), nil)
			okSplit, errSplit := feed(t, &Decoder{Limit: limit}, &split, bytes.Clone(input), sizes)
			if okWhole != okSplit || (errWhole == nil) != (errSplit == nil) || closeCodeOf(errWhole) != closeCodeOf(errSplit) ||
				whole.closeCode != split.closeCode || !slices.Equal(whole.msgs, split.msgs) || !slices.Equal(whole.pings, split.pings) {
				t.Fatalf("limit %d: whole read gives ok=%v %v %+v, split reads ok=%v %v %+v", limit, okWhole, errWhole, whole, okSplit, errSplit, split)
			}
			if okWhole != (errWhole == nil) {
				t.Fatalf("ok=%v with error %v", okWhole, errWhole)
			}
			if whole.closeCode != 0 && !errors.Is(errWhole, ErrPeerClosed) {
				t.Fatalf("close frame %d but error %v", whole.closeCode, errWhole)
			}
			for _, m := range whole.msgs {
				if int64(len(m)-2) > limit {
					t.Fatalf("message of %d bytes over the limit %d", len(m)-2, limit)
				}
			}
		}
	})
}
