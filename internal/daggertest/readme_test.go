package daggertest

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestReadmeCalls checks every `dagger call` in the README's code blocks against the module:
// the guide is a caller too, and a renamed function or flag must break this test before it
// breaks a reader's first command.
func TestReadmeCalls(t *testing.T) {
	mod, err := ReadModule("../../.dagger")
	if err != nil {
		t.Fatal(err)
	}
	calls := readmeCalls(t, "../../README.md")
	if len(calls) < 20 {
		t.Fatalf("found only %d dagger calls in README.md code blocks; the parser is broken", len(calls))
	}
	for _, c := range calls {
		if err := mod.Check(c.argv); err != nil {
			t.Errorf("README.md:%d: %s\n%v", c.line, strings.Join(c.argv, " "), err)
		}
	}
}

type readmeCall struct {
	line int
	argv []string // the words after "call"
}

// readmeCalls returns the `dagger ... call ...` commands inside fenced code blocks, with
// backslash continuations joined, each cut at a shell operator or comment.
func readmeCalls(t *testing.T, path string) []readmeCall {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []readmeCall
	inCode, pending, start := false, "", 0
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inCode, pending = !inCode, ""
			continue
		}
		if !inCode {
			continue
		}
		if pending == "" {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		cmd := pending + line
		pending = ""
		for _, part := range strings.Split(cmd, "&&") {
			words := shellWords(part)
			for i, w := range words {
				if w == "call" && i > 0 && words[0] == "dagger" {
					calls = append(calls, readmeCall{line: start, argv: words[i+1:]})
					break
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return calls
}

// shellWords splits a command line into words, honouring quotes and stopping at a comment
// or a pipe; enough for documentation examples, not a shell.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quote, inWord := rune(0), false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case (r == '#' || r == '|') && !inWord:
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}
