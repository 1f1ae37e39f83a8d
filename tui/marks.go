package tui

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// EventMarks are the events a user muted (left out of the log) or
// highlighted (marked ★), by name. They survive restarts in a small JSON
// file beside the composer history (ClientOptions.MarksFile):
//
//	{"mute":["typing","cursor"],"highlight":["error"]}
type EventMarks struct {
	Mute      []string `json:"mute,omitempty"`
	Highlight []string `json:"highlight,omitempty"`
}

// Bounds of a marks file: a person adds names one at a time, so anything
// past these is not one.
const (
	maxMarks        = 256
	maxMarkName     = 256
	maxMarksFileLen = 1 << 20
)

// LoadMarks reads the marks file at path; a missing file (or path "") is
// no marks. Names that are empty, too long or repeated are dropped.
func LoadMarks(path string) (EventMarks, error) {
	if path == "" {
		return EventMarks{}, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return EventMarks{}, nil
	}
	if err != nil {
		return EventMarks{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMarksFileLen+1))
	if err != nil {
		return EventMarks{}, err
	}
	if len(data) > maxMarksFileLen {
		return EventMarks{}, errors.New(path + ": too large for a marks file")
	}
	var m EventMarks
	if err := json.Unmarshal(data, &m); err != nil {
		return EventMarks{}, errors.New(path + ": " + err.Error())
	}
	m.Mute, m.Highlight = cleanNames(m.Mute), cleanNames(m.Highlight)
	return m, nil
}

// saveMarks writes the marks file atomically, creating its directory.
func saveMarks(path string, m EventMarks) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// cleanNames drops empty, overlong, invalid and repeated names, and keeps
// at most maxMarks of them.
func cleanNames(names []string) []string {
	var out []string
	for _, n := range names {
		if n == "" || len(n) > maxMarkName || !utf8.ValidString(n) || slices.Contains(out, n) {
			continue
		}
		if out = append(out, n); len(out) == maxMarks {
			break
		}
	}
	return out
}

// parseNames reads a prompt's list: names separated by commas or spaces.
func parseNames(v string) []string {
	return cleanNames(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }))
}

// toggleName adds name to names, or removes it when present; added
// reports which.
func toggleName(names []string, name string) (out []string, added bool) {
	if i := slices.Index(names, name); i >= 0 {
		return slices.Delete(slices.Clone(names), i, i+1), false
	}
	if len(names) >= maxMarks {
		return names, false
	}
	return append(slices.Clone(names), name), true
}
