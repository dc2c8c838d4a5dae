// Package untrusted shows values that came from outside (a workflow input, an event
// payload, a config file) in error messages without letting them forge the message.
package untrusted

import "fmt"

// maxQuoted is how many bytes of a value an error message shows: enough to recognise it,
// too few for a hostile payload to flood the log.
const maxQuoted = 64

// Quote quotes s for an error message. %q escapes newlines and control characters, so
// the value cannot start a line of its own (a GitHub workflow command such as
// ::set-output, or a fake log line); a value longer than 64 bytes is cut, and the message
// says how long it was.
func Quote(s string) string { return QuoteN(s, maxQuoted) }

// QuoteN is Quote cutting at n bytes, for a value whose reader needs more of it than a name:
// a check's message, which says what to do.
func QuoteN(s string, n int) string {
	if len(s) > n {
		return fmt.Sprintf("%q (%d bytes, truncated)", s[:n], len(s))
	}
	return fmt.Sprintf("%q", s)
}
