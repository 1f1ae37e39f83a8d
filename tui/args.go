package tui

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/sio-dev/sio/pkg/protocol"
)

// ArgError says which argument of a composer line is wrong and where.
type ArgError struct {
	Arg int // 1-based
	Col int // 1-based column in the line
	Msg string
}

func (e *ArgError) Error() string {
	return "arg " + strconv.Itoa(e.Arg) + " (col " + strconv.Itoa(e.Col) + "): " + e.Msg
}

// ParseArgs splits a composer line into event arguments, following the
// CLI.md rules: each word is JSON if it is valid JSON, else a plain string.
// A word that starts with '{', '[' or '"' is read as one JSON value (it may
// contain spaces) and must be valid; '...' quotes a string with spaces.
// Objects {"$binary":"<base64>"} anywhere become binary attachments: the
// returned args then hold {"_placeholder":true,"num":N} in their place, the
// shape protocol.Deconstruct produces.
//
//	chat hello 42 {"n": 1} 'two words' [1,2]
func ParseArgs(line string) (args []json.RawMessage, attachments [][]byte, err error) {
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
				return nil, nil, &ArgError{Arg: n, Col: start + 1, Msg: "unterminated JSON"}
			}
			tok := line[i:end]
			if err := checkJSON(tok); err != nil {
				err.Arg, err.Col = n, start+1+err.Col
				return nil, nil, err
			}
			if end < len(line) && !isSpace(line[end]) {
				return nil, nil, &ArgError{Arg: n, Col: end + 1, Msg: "text after the JSON value; put a space between arguments"}
			}
			arg, i = json.RawMessage(tok), end
		case '\'':
			j := i + 1
			for j < len(line) && line[j] != '\'' {
				j++
			}
			if j >= len(line) {
				return nil, nil, &ArgError{Arg: n, Col: start + 1, Msg: "unterminated quote"}
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

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

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
