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
