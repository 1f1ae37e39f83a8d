package tui

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/sio-dev/sio/pkg/protocol"
)

// ArgError says which argument of the composer's text is wrong and where.
type ArgError struct {
	Arg  int // 1-based
	Line int // 1-based line, 0 when the text is one line
	Col  int // 1-based column in the line
	Msg  string
}

func (e *ArgError) Error() string {
	if e.Line > 0 {
		return "arg " + strconv.Itoa(e.Arg) + " (line " + strconv.Itoa(e.Line) + ", col " + strconv.Itoa(e.Col) + "): " + e.Msg
	}
	return "arg " + strconv.Itoa(e.Arg) + " (col " + strconv.Itoa(e.Col) + "): " + e.Msg
}

// locate turns Col, an offset into the whole of text, into a line and a
// column when text has several lines.
func (e *ArgError) locate(text string) *ArgError {
	off := min(max(e.Col-1, 0), len(text))
	if !strings.Contains(text, "\n") {
		return e
	}
	before := text[:off]
	e.Line = strings.Count(before, "\n") + 1
	e.Col = off - (strings.LastIndexByte(before, '\n') + 1) + 1
	return e
}

// ParseArgs splits the composer's text into event arguments, following the
// CLI.md rules: each word is JSON if it is valid JSON, else a plain string.
// A word that starts with '{', '[' or '"' is read as one JSON value (it may
// contain spaces) and must be valid; '...' quotes a string with spaces.
// Line breaks separate words like spaces; a JSON value spread over lines is
// sent compact, as JSON.stringify would send it (a value on one line is
// sent as typed). Objects {"$binary":"<base64>"} anywhere become binary
// attachments: the returned args then hold {"_placeholder":true,"num":N} in
// their place, the shape protocol.Deconstruct produces.
//
//	chat hello 42 {"n": 1} 'two words' [1,2]
func ParseArgs(line string) (args []json.RawMessage, attachments [][]byte, err error) {
	args, aerr := splitArgs(line)
	if aerr != nil {
		return nil, nil, aerr.locate(line)
	}
	if len(args) == 0 {
		return nil, nil, nil
	}
	data, atts, err := protocol.ExtractBinary(protocol.AppendArray(nil, args...))
	if err != nil {
		return nil, nil, &ArgError{Arg: 1, Col: 1, Msg: err.Error()}
	}
	if len(atts) == 0 {
		return args, nil, nil
	}
	args, err = protocol.SplitArray(data)
	if err != nil {
		return nil, nil, &ArgError{Arg: 1, Col: 1, Msg: err.Error()}
	}
	return args, atts, nil
}

// FormatArgs rewrites the composer's text with each argument as JSON:
// pretty-printed one per line (indented by two spaces), or compact on one
// line. Plain words become JSON strings; binary objects stay as typed.
func FormatArgs(text string, pretty bool) (string, error) {
	args, aerr := splitArgs(text)
	if aerr != nil {
		return "", aerr.locate(text)
	}
	parts := make([]string, len(args))
	for i, a := range args {
		var b bytes.Buffer
		var err error
		if pretty {
			err = json.Indent(&b, a, "", "  ")
		} else {
			err = json.Compact(&b, a)
		}
		if err != nil { // splitArgs returns valid JSON only
			return "", &ArgError{Arg: i + 1, Col: 1, Msg: err.Error()}
		}
		parts[i] = b.String()
	}
	if pretty {
		return strings.Join(parts, "\n"), nil
	}
	return strings.Join(parts, " "), nil
}

// splitArgs splits text into its arguments as JSON, binary objects as
// typed. An error's Col is an offset into the whole text.
func splitArgs(line string) (args []json.RawMessage, err *ArgError) {
	for i := 0; ; {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			break
		}
		n := len(args) + 1
		start := i
		var arg json.RawMessage
		switch c := line[i]; c {
		case '{', '[', '"':
			end, ok := scanJSON(line, i)
			if !ok {
				return nil, &ArgError{Arg: n, Col: start + 1, Msg: "unterminated JSON"}
			}
			tok := line[i:end]
			if err := checkJSON(tok); err != nil {
				err.Arg, err.Col = n, start+1+err.Col
				return nil, err
			}
			if end < len(line) && !isSpace(line[end]) {
				return nil, &ArgError{Arg: n, Col: end + 1, Msg: "text after the JSON value; put a space between arguments"}
			}
			arg, i = json.RawMessage(tok), end
			if strings.ContainsAny(tok, "\r\n") {
				var b bytes.Buffer
				_ = json.Compact(&b, arg) // checked above
				arg = b.Bytes()
			}
		case '\'':
			j := i + 1
			for j < len(line) && line[j] != '\'' {
				j++
			}
			if j >= len(line) {
				return nil, &ArgError{Arg: n, Col: start + 1, Msg: "unterminated quote"}
			}
			arg, i = quoteJSON(line[i+1:j]), j+1
		default:
			j := i
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			word := line[i:j]
			if json.Valid([]byte(word)) {
				arg = json.RawMessage(word)
			} else {
				arg = quoteJSON(word)
			}
			i = j
		}
		args = append(args, arg)
	}
	return args, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scanJSON finds the end of the JSON value starting at i by matching
// brackets outside strings. Validity is checked separately.
func scanJSON(s string, i int) (int, bool) {
	depth := 0
	inStr := false
	for j := i; j < len(s); j++ {
		c := s[j]
		if inStr {
			switch c {
			case '\\':
				j++
			case '"':
				inStr = false
				if depth == 0 {
					return j + 1, true
				}
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth <= 0 {
				return j + 1, true
			}
		}
	}
	return len(s), false
}

func checkJSON(tok string) *ArgError {
	var v json.RawMessage
	err := json.Unmarshal([]byte(tok), &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &ArgError{Col: max(int(se.Offset)-1, 0), Msg: "invalid JSON: " + se.Error()}
	}
	return &ArgError{Msg: "invalid JSON: " + err.Error()}
}

func quoteJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
