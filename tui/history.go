package tui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// HistoryItem is one composer entry remembered across sessions, one JSON
// object per line of the history file: an event, or a raw Engine.IO frame
// sent from the client's composer in raw mode (Raw set, the rest empty).
type HistoryItem struct {
	Namespace string `json:"nsp,omitempty"`
	Event     string `json:"event,omitempty"`
	Args      string `json:"args,omitempty"`
	Ack       bool   `json:"ack,omitempty"`
	Raw       string `json:"raw,omitempty"`
}

// MaxHistory is how many composer entries are kept.
const MaxHistory = 500

// LoadHistory reads the history file at path, keeping its last MaxHistory
// entries and skipping lines it cannot read. A missing file is an empty
// history. When the file holds more than twice MaxHistory lines it is
// rewritten with the kept ones, so it stays bounded.
func LoadHistory(path string) ([]HistoryItem, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var items []HistoryItem
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		lines++
		var it HistoryItem
		if json.Unmarshal(sc.Bytes(), &it) != nil || (it.Event == "" && it.Raw == "") {
			continue
		}
		items = append(items, it)
	}
	if len(items) > MaxHistory {
		items = items[len(items)-MaxHistory:]
	}
	if lines > 2*MaxHistory {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return items, err
			}
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			return items, err
		}
	}
	return items, nil
}

// appendHistory adds one entry to the history file, creating it and its
// directory if needed.
func appendHistory(path string, it HistoryItem) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	line, err := json.Marshal(it)
	if err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
