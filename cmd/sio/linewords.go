package main

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// splitWords splits a line-mode command into words as a POSIX shell does
// (quotes, backslashes, # comments), without expanding anything: users
// type JSON, so "$x" stays "$x", as do ${...}, $(...), ~ and *. A shell
// operator (; | & < >) inside a word is kept in it, since line mode runs
// one command per line. The words come from mvdan.cc/sh's parser; their
// parts are turned back into text here.
func splitWords(line string) ([]string, error) {
	var words []string
	// Operators would end a word or make the parser refuse the line: a
	// backslash makes each one a literal character of its word.
	escaped := escapeOperators(line)
	for w, err := range syntax.NewParser(syntax.KeepComments(false)).WordsSeq(strings.NewReader(escaped)) {
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for _, part := range w.Parts {
			if err := appendPart(&b, escaped, part, false); err != nil {
				return nil, err
			}
		}
		words = append(words, b.String())
	}
	return words, nil
}

// escapeOperators puts a backslash before each shell operator character
// that is outside quotes.
func escapeOperators(line string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == 0 && c == '\\' && i+1 < len(line):
			b.WriteByte(c)
			i++
			c = line[i]
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case quote == '"' && c == '\\' && i+1 < len(line):
			b.WriteByte(c)
			i++
			c = line[i]
		case quote == 0 && strings.IndexByte(";|&<>()`", c) >= 0:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// appendPart writes the text of one word part: quotes removed, escapes
// resolved, expansions as they were typed.
func appendPart(b *strings.Builder, src string, part syntax.WordPart, inDouble bool) error {
	switch p := part.(type) {
	case *syntax.Lit:
		b.WriteString(unescape(p.Value, inDouble))
	case *syntax.SglQuoted:
		b.WriteString(p.Value)
	case *syntax.DblQuoted:
		for _, inner := range p.Parts {
			if err := appendPart(b, src, inner, true); err != nil {
				return err
			}
		}
	default:
		// $x, ${x}, $(...), $((...)): kept as typed.
		start, end := int(part.Pos().Offset()), int(part.End().Offset())
		if start < 0 || end > len(src) || start > end {
			return fmt.Errorf("cannot read %T at %d", part, start)
		}
		b.WriteString(src[start:end])
	}
	return nil
}

// unescape resolves backslashes as the shell does: outside quotes "\c"
// is c; inside double quotes only \" \\ \$ \` lose their backslash; a
// backslash before a newline joins the lines.
func unescape(s string, inDouble bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		next := s[i+1]
		switch {
		case next == '\n':
		case !inDouble:
			b.WriteByte(next)
		case strings.IndexByte("\"\\$`", next) >= 0:
			b.WriteByte(next)
		default:
			b.WriteByte('\\')
			b.WriteByte(next)
		}
		i++
	}
	return b.String()
}
