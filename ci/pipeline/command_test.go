package pipeline

import (
	"strings"
	"testing"
)

// TestCommandMarkdown: every summary's closing line is the plan summary's footer, including
// its bound on a line that a flag's value made huge.
func TestCommandMarkdown(t *testing.T) {
	huge := strings.Repeat("x", 5000)
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"plain", Call([]string{"--env=dev"}, "lint"),
			"\n**Reproduce with:**\n\n```shell\ndagger call --env=dev lint\n```\n"},
		{"cut at 4096 bytes", Call(nil, "plan").Flag("var", huge),
			"\n**Reproduce with:**\n\n```shell\n" + ("dagger call plan --var=" + huge)[:4096] + " …\n```\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cmd.Markdown(); got != tt.want {
				t.Errorf("Markdown() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
