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

// The log's opening line asks for credentials only where the run reaches real AWS.
func TestCommandAnnouncement(t *testing.T) {
	c := Call([]string{"--emulate-aws"}, "plan").Flag("env", "test")
	if got, want := c.Announcement(true), "Reproduce locally:\n  dagger call --emulate-aws plan --env=test export --path=./plan\n"; got != want {
		t.Errorf("Announcement(emulated) = %q, want %q", got, want)
	}
	if got := c.Announcement(false); !strings.HasPrefix(got, "Reproduce locally (with your own AWS credentials in the environment):\n  dagger call") {
		t.Errorf("Announcement(real AWS) = %q", got)
	}
}
