package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sio-dev/sio/internal/render"
	"github.com/sio-dev/sio/pkg/protocol"
)

type decodeOptions struct {
	Frames  []string // from the arguments; nil means stdin, one per line
	EIO     int      // 3 or 4 forces the version; 0 infers it per frame
	Hex     bool     // frames are hex dumps of binary data
	Output  string   // "pretty" or "json"
	Verbose bool     // also print the Engine.IO message that carries each Socket.IO packet
}

func newDecodeCmd(a *app, runF func(*decodeOptions) error) *cobra.Command {
	opts := &decodeOptions{}
	var eio string
	cmd := &cobra.Command{
		Use:   "decode [FRAME...]",
		Short: "Decode raw Engine.IO / Socket.IO frames and polling payloads",
		Long: `Decode what the browser's network tab shows: WebSocket frames (42["chat","hi"],
0{"sid":...}), v4 polling payloads (packets separated by the byte 0x1e, which
may also be typed as \x1e, \u001e or ␞) and v3 length-prefixed payloads
(9:42["a",1]), and print their Engine.IO and Socket.IO meaning.

Frames are the arguments, or stdin one per line. The version is inferred per
frame: v3 only when the whole frame parses as a v3 length-prefixed payload;
--eio forces it. With --hex each frame is a hex dump of binary data (a v3
binary payload such as "00 04 FF 34 E2 82 AC", or a binary WebSocket message,
which completes a preceding binary packet header).

An invalid frame is reported on stderr with the problem and its offset; the
other frames are still decoded, and the exit status is 1.`,
		Example: `  sio decode '42["chat","hi"]'
  sio decode -o json '451-["up",{"_placeholder":true,"num":0}]\x1ebAQI='
  sio decode --eio 3 '9:42["a",1]5:431[]'
  sio decode --hex '00 04 FF 34 E2 82 AC 01 05 FF 04 01 02 03 04'
  pbpaste | sio decode -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Frames = args
			}
			switch eio {
			case "", "auto":
				opts.EIO = 0
			case "3", "4":
				opts.EIO, _ = strconv.Atoi(eio)
			default:
				return usageErrorf("--eio must be 3 or 4, not %q", eio)
			}
			if opts.Output != render.FormatPretty && opts.Output != render.FormatJSON {
				return usageErrorf("--output must be pretty or json, not %q", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return runDecode(a, opts)
		},
	}
	cmd.Flags().StringVar(&eio, "eio", "auto", "Engine.IO version: 3 (socket.io 2.x), 4 (socket.io 3.x/4.x) or auto")
	cmd.Flags().BoolVar(&opts.Hex, "hex", false, "frames are hex dumps of binary data")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", render.FormatPretty, "output format: pretty or json (JSON lines)")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "also print the Engine.IO message carrying each Socket.IO packet")
	return cmd
}

func runDecode(a *app, opts *decodeOptions) error {
	printer, err := render.New(a.io.Out, render.Options{Format: opts.Output, Verbose: true, Color: a.io.ColorEnabled()})
	if err != nil {
		return &usageError{err}
	}
	d := &frameDecoder{opts: opts, print: printer.Record, errOut: a.io.ErrOut}
	if len(opts.Frames) > 0 {
		for _, f := range opts.Frames {
			d.frame(f)
		}
	} else {
		sc := bufio.NewScanner(a.io.In)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r\n")
			if strings.TrimSpace(line) == "" {
				continue
			}
			d.frame(line)
		}
		if err := sc.Err(); err != nil {
			d.flush()
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	d.flush()
	if d.failed > 0 {
		return &silentError{code: exitFailure}
	}
	return nil
}

// frameDecoder decodes frames one after another. A binary packet header
// waits for its attachments in the frames that follow, as on a WebSocket.
type frameDecoder struct {
	opts   *decodeOptions
	print  func(render.Record)
	errOut io.Writer
	failed int

	dec     protocol.Decoder
	header  protocol.Packet // the pending binary packet as announced
	pending bool
}

// frame decodes one frame and prints what it holds, or its error.
func (d *frameDecoder) frame(in string) {
	var b []byte
	if d.opts.Hex {
		var err error
		if b, err = parseHex(in); err != nil {
			d.fail(in, err)
			return
		}
	} else {
		b = []byte(unescapeRS(in))
	}
	if err := d.decode(b); err != nil {
		d.fail(in, err)
	}
}

func (d *frameDecoder) fail(in string, err error) {
	d.failed++
	fmt.Fprintf(d.errOut, "sio: decode %s: %v\n", quoteFrame(in), err)
}

// decode picks the frame's form and version and decodes every packet in it.
func (d *frameDecoder) decode(b []byte) error {
	v := protocol.EIO(d.opts.EIO)
	if d.opts.Hex {
		isPayload := len(b) > 0 && b[0] <= 1 && parsesWhole(protocol.PayloadV3Binary(b))
		switch {
		case v == protocol.EIO3 && (isPayload || len(b) == 0 || b[0] != byte(protocol.EngineMessage)):
			return d.payload(b, protocol.PayloadV3Binary(b), protocol.EIO3)
		case v == 0 && isPayload:
			return d.payload(b, protocol.PayloadV3Binary(b), protocol.EIO3)
		case v == 0:
			v = protocol.EIO4
		}
		p, err := protocol.ParseEngineBinary(b, v)
		if err != nil {
			return err
		}
		return d.engine(b, p, v)
	}
	if v == 0 {
		v = protocol.EIO4
		if looksLikeV3Payload(b) && parsesWhole(protocol.PayloadV3(b)) {
			v = protocol.EIO3
		}
	}
	if v == protocol.EIO3 && looksLikeV3Payload(b) {
		return d.payload(b, protocol.PayloadV3(b), v)
	}
	// A v4 payload; a single packet is a payload of one.
	return d.payload(b, protocol.PayloadV4(b), v)
}

func looksLikeV3Payload(b []byte) bool {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i > 0 && i < len(b) && b[i] == ':'
}

func parsesWhole(seq func(func(protocol.EnginePacket, error) bool)) bool {
	for _, err := range seq {
		if err != nil {
			return false
		}
	}
	return true
}

func (d *frameDecoder) payload(in []byte, seq func(func(protocol.EnginePacket, error) bool), v protocol.EIO) error {
	for p, err := range seq {
		if err != nil {
			return err
		}
		if err := d.engine(in, p, v); err != nil {
			return err
		}
	}
	return nil
}

// engine handles one Engine.IO packet of the frame in: a message that
// starts with a digit is a Socket.IO packet, a binary message an
// attachment of one; anything else is printed as an Engine.IO line.
func (d *frameDecoder) engine(in []byte, p protocol.EnginePacket, v protocol.EIO) error {
	if p.Type != protocol.EngineMessage {
		d.flush()
		d.print(render.FromEngine(p))
		return nil
	}
	if d.opts.Verbose {
		d.print(render.FromEngine(p))
	}
	if !p.Binary && d.pending {
		d.flush()
	}
	if !p.Binary && (len(p.Data) == 0 || p.Data[0] < '0' || p.Data[0] > '9') {
		// Not meant as a Socket.IO packet (those start with a type digit):
		// a plain Engine.IO message such as "4hello".
		if !d.opts.Verbose {
			d.print(render.FromEngine(p))
		}
		return nil
	}
	d.dec.Version = v
	pkt, done, err := d.dec.Add(p.Data, p.Binary)
	if err != nil {
		d.pending = false
		if p.Binary && errors.Is(err, protocol.ErrUnexpectedBinary) {
			// A lone binary message: show it as such.
			d.print(render.FromEngine(p))
			return nil
		}
		return atOffset(err, offsetIn(in, p.Data))
	}
	if done {
		d.pending = false
		d.print(render.FromPacket(pkt))
		return nil
	}
	if !p.Binary {
		// A binary packet header: keep it to show if its attachments never come.
		d.header, _ = protocol.ParsePacket(p.Data, v, d.dec.Limits)
		d.pending = true
	}
	return nil
}

// flush prints a binary packet header whose attachments were not given,
// with its placeholders, and a note.
func (d *frameDecoder) flush() {
	if !d.pending {
		return
	}
	d.pending = false
	d.dec.Reset()
	d.print(render.FromPacket(d.header))
	n := d.header.NumAttachments
	fmt.Fprintf(d.errOut, "sio: note: %s announces %d attachment%s, not given: shown with placeholders (to complete it, follow it with b<base64> records, as in a polling payload: '451-[…]\\x1ebAQI=')\n",
		d.header.Type, n, plural(n))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// offsetIn is where sub starts in b, when sub is a slice of b (the
// parsers return data that aliases their input); -1 otherwise.
func offsetIn(b, sub []byte) int {
	off := cap(b) - cap(sub)
	if off < 0 || off > len(b) || len(sub) > len(b)-off {
		return -1
	}
	if len(sub) > 0 && &b[off] != &sub[0] {
		return -1
	}
	return off
}

// atOffset makes an error of the Socket.IO packet that starts at offset
// base in the frame say where it is in the frame.
func atOffset(err error, base int) error {
	if base < 0 {
		return err
	}
	var se *protocol.SyntaxError
	if errors.As(err, &se) {
		return &protocol.SyntaxError{Msg: se.Msg, Offset: se.Offset + base}
	}
	return fmt.Errorf("%w at offset %d", err, base)
}

// unescapeRS turns the record separator as people type or copy it (\x1e,
// \u001e, DevTools' ␞ symbol) into the byte 0x1e.
func unescapeRS(s string) string {
	if !strings.ContainsAny(s, `\␞`) {
		return s
	}
	return strings.NewReplacer(`\x1e`, "\x1e", `\x1E`, "\x1e", `\u001e`, "\x1e", `\u001E`, "\x1e", "␞", "\x1e").Replace(s)
}

// parseHex reads a hex dump: "00 04 FF 34", "0004ff34", "0x00,0x04" or
// "00:04:ff:34".
func parseHex(s string) ([]byte, error) {
	var digits strings.Builder
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ':' })
	for _, f := range fields {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "0x"), "0X")
		if len(f) == 1 && len(fields) > 1 {
			f = "0" + f
		}
		digits.WriteString(f)
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		var inv hex.InvalidByteError
		if errors.As(err, &inv) {
			return nil, fmt.Errorf("invalid hex digit %q", rune(inv))
		}
		return nil, fmt.Errorf("invalid hex: odd number of digits")
	}
	return b, nil
}

// quoteFrame shows a frame in an error message, shortened.
func quoteFrame(s string) string {
	const max = 48
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}
