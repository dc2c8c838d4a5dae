// Package markdown holds the Markdown rules that several reports share, so a fix to one
// (such as a fence that tool output cannot close) reaches them all.
package markdown

import "strings"

// CodeBlock fences text as a Markdown code block whose fence is longer than any run of
// backticks in the text: a command or Terraform's output (which may quote a value holding
// backticks) cannot close the block early and turn the rest of a summary into Markdown.
// lang may be empty. The block ends without a newline.
func CodeBlock(lang, text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + lang + "\n" + text + "\n" + fence
}

// CodeSpan puts text in an inline code span that is safe in a table cell: the span's
// backticks outnumber any run inside it, a pipe is escaped (GitHub splits cells on it even
// inside code), and line breaks become spaces. A resource address is the usual text, and a
// for_each key may hold any of these. Empty text is an empty string, not a pair of
// backticks that would show as such.
func CodeSpan(text string) string {
	if text == "" {
		return ""
	}
	text = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`).Replace(text)
	ticks := "`"
	for strings.Contains(text, ticks) {
		ticks += "`"
	}
	if strings.HasPrefix(text, "`") || strings.HasSuffix(text, "`") {
		text = " " + text + " " // a span's content may not touch its own backticks
	}
	return ticks + text + ticks
}

// Text makes outside text (a gate reason holding a for_each key, a scanner's message, an
// error) safe as one line of Markdown prose, in a paragraph, a list item or a table cell:
// line breaks and runs of whitespace become one space, and every character that can start
// Markdown or HTML is backslash-escaped, so no key can open a link (`](https://…)`), an
// image, emphasis, an HTML comment (`<!--`) that hides the rest of a PR comment, or a new
// table cell. It is the one escaper for prose from outside; CodeSpan is for text that
// should look like code.
func Text(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	return textEscaper.Replace(text)
}

var textEscaper = func() *strings.Replacer {
	var pairs []string
	for _, c := range "\\`*_[]<>&|!~#" {
		pairs = append(pairs, string(c), `\`+string(c))
	}
	return strings.NewReplacer(pairs...)
}()
