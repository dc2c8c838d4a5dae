package untrusted

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct{ name, in, want string }{
		{"plain", "staging", `"staging"`},
		{"empty", "", `""`},
		{"workflow command", "x\n::set-output name=a::b", `"x\n::set-output name=a::b"`},
		{"control character", "a\x1b[31mb", `"a\x1b[31mb"`},
		{"at the limit", long[:64], `"` + long[:64] + `"`},
		{"over the limit", long, `"` + long[:64] + `" (70 bytes, truncated)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzQuote: whatever the value, the quoted form is one line, so it cannot start a
// workflow command, and never longer than the limit allows.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "dev", "a\nb", "::error::x", strings.Repeat("é", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if strings.ContainsAny(q, "\r\n") {
			t.Fatalf("Quote(%q) = %q spans lines", s, q)
		}
		if len(q) > 4*maxQuoted+40 {
			t.Fatalf("Quote(%q) is %d bytes long", s, len(q))
		}
	})
}
