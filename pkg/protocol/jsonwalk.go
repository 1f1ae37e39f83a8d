package protocol

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// MaxBinaryNesting bounds how deep the data of a binary packet (one with
// attachments) may nest arrays and objects; deeper, the Decoder fails with
// ErrNestingTooDeep. Placeholders can be anywhere, so such data is walked
// (linearly, with a stack of the open containers). socket.io-parser walks
// it with a recursion (_reconstructPacket), and a Node server closes the
// connection at about 5,200 levels (its stack); 10,000 is encoding/json's
// own limit, which sio applied to every packet before. Packets without
// attachments are not walked and have no limit (see ValidJSON).
const MaxBinaryNesting = 10000

// objectSummary is what walkObjects knows of an object once it has read
// all of it: its bytes, its member count and, for each of the walk's two
// keys, how many members have it and the raw value of the last one (the
// one JSON.parse keeps). Building it costs O(1) per member, so a replace
// function that looks only at it keeps the walk linear.
type objectSummary struct {
	raw     []byte
	members int
	count   [2]int
	val     [2][]byte
}

// objectFrame is an open object during a walk.
type objectFrame struct {
	objectSummary
	start, out int   // offsets of its '{' in the input and in dst
	key        int   // index in keys of the member being read, -1 for others
	valStart   int   // where that member's value starts
	wantKey    bool  // the next string is a key
	err        error // the first error from inside
}

// walkObjects copies the JSON value raw into dst without the space between
// tokens, and calls replace with each object after reading it. When
// replace returns true its bytes stand for the object in dst, and errors
// from inside the object are dropped: the effect of a depth-first walk that
// does not descend into a replaced object (socket.io-parser's
// _reconstructPacket), so replace must not keep anything from the objects
// inside one it replaces, and may be called for them. The first error that
// is not dropped is returned. With dst nil it only visits.
//
// It is a loop with a stack of the open containers, not a recursion, and
// linear in len(raw). Deeper than MaxBinaryNesting it stops with
// ErrNestingTooDeep (the stack holds ~150 bytes per open object). Raw
// that is not valid JSON is a *SyntaxError. On these two errors dst is
// not returned.
func walkObjects(raw []byte, keys [2]string, replace func(o *objectSummary) ([]byte, bool, error), dst []byte) ([]byte, error) {
	emit := dst != nil
	if !ValidJSON(raw) {
		return nil, &SyntaxError{Msg: "malformed JSON"}
	}
	var kinds []byte // '[' or '{' per open container
	var objs []objectFrame
	var topErr error
	// ended records a value that ended at end (exclusive) as the value of
	// the current member of the enclosing object, if any.
	ended := func(end int) {
		if len(kinds) == 0 || kinds[len(kinds)-1] != '{' {
			return
		}
		f := &objs[len(objs)-1]
		if f.key >= 0 {
			f.val[f.key] = raw[f.valStart:end]
		}
	}
	// fail passes err to the innermost open object, or to the result.
	fail := func(err error) {
		if err == nil {
			return
		}
		if len(objs) == 0 {
			if topErr == nil {
				topErr = err
			}
			return
		}
		if f := &objs[len(objs)-1]; f.err == nil {
			f.err = err
		}
	}
	for i := 0; i < len(raw); {
		switch c := raw[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case ',':
			if kinds[len(kinds)-1] == '{' {
				objs[len(objs)-1].wantKey = true
			}
			if emit {
				dst = append(dst, ',')
			}
			i++
		case ':':
			f := &objs[len(objs)-1]
			i = skipSpace(raw, i+1)
			f.valStart = i
			if emit {
				dst = append(dst, ':')
			}
		case '[':
			if len(kinds) == MaxBinaryNesting {
				return nil, tooDeep(i)
			}
			kinds = append(kinds, '[')
			if emit {
				dst = append(dst, '[')
			}
			i++
		case ']':
			kinds = kinds[:len(kinds)-1]
			if emit {
				dst = append(dst, ']')
			}
			i++
			ended(i)
		case '{':
			if len(kinds) == MaxBinaryNesting {
				return nil, tooDeep(i)
			}
			kinds = append(kinds, '{')
			objs = append(objs, objectFrame{start: i, out: len(dst), key: -1, wantKey: true})
			if emit {
				dst = append(dst, '{')
			}
			i++
		case '}':
			i++
			f := objs[len(objs)-1]
			objs, kinds = objs[:len(objs)-1], kinds[:len(kinds)-1]
			if emit {
				dst = append(dst, '}')
			}
			f.raw = raw[f.start:i]
			out, replaced, err := replace(&f.objectSummary)
			if replaced {
				if emit {
					dst = append(dst[:f.out], out...)
				}
			} else if f.err != nil {
				err = f.err
			}
			fail(err)
			ended(i)
		case '"':
			end := stringEnd(raw, i)
			if len(kinds) > 0 && kinds[len(kinds)-1] == '{' && objs[len(objs)-1].wantKey {
				f := &objs[len(objs)-1]
				f.wantKey = false
				f.members++
				f.key = keyIndex(raw[i:end], keys)
				if f.key >= 0 {
					f.count[f.key]++
				}
			} else {
				ended(end)
			}
			if emit {
				dst = append(dst, raw[i:end]...)
			}
			i = end
		default: // a number or a literal: up to the next delimiter
			end := i + 1
			for end < len(raw) && !isDelimiter(raw[end]) {
				end++
			}
			if emit {
				dst = append(dst, raw[i:end]...)
			}
			i = end
			ended(end)
		}
	}
	return dst, topErr
}

func tooDeep(off int) error {
	return fmt.Errorf("%w (over %d levels) at offset %d", ErrNestingTooDeep, MaxBinaryNesting, off)
}

func isDelimiter(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// keyIndex returns which of keys the JSON string key (quotes included)
// spells, escapes decoded, or -1.
func keyIndex(key []byte, keys [2]string) int {
	inner := key[1 : len(key)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if json.Unmarshal(key, &s) != nil { // a string: no nesting to limit
				return -1
			}
			inner = []byte(s)
			break
		}
	}
	for k, name := range keys {
		if name != "" && string(inner) == name {
			return k
		}
	}
	return -1
}

// placeholderKeys are the members of a placeholder that matter.
var placeholderKeys = [2]string{"_placeholder", "num"}

// placeholderNum reads a summary made with placeholderKeys as
// socket.io-parser does: a placeholder is an object whose _placeholder is
// true; num is its attachment index, -1 when it is not a non-negative
// integer.
func (o *objectSummary) placeholderNum() (int, bool) {
	if o.count[0] == 0 || string(o.val[0]) != "true" {
		return 0, false
	}
	if o.count[1] == 0 {
		return -1, true
	}
	n, err := strconv.Atoi(string(o.val[1]))
	if err != nil || n < 0 {
		return -1, true
	}
	return n, true
}

// summarize builds the summary of the valid JSON object v with keys by
// reading its members (not what they hold).
func summarize(v []byte, keys [2]string) objectSummary {
	o := objectSummary{raw: v}
	j := skipSpace(v, 1)
	for j < len(v) && v[j] == '"' {
		kEnd := valueEnd(v, j)
		k := keyIndex(v[j:kEnd], keys)
		j = skipSpace(v, kEnd)
		j = skipSpace(v, j+1) // the colon
		vEnd := valueEnd(v, j)
		o.members++
		if k >= 0 {
			o.count[k]++
			o.val[k] = v[j:vEnd]
		}
		j = skipSpace(v, vEnd)
		if j < len(v) && v[j] == ',' {
			j = skipSpace(v, j+1)
		}
	}
	return o
}
