package markdown

import (
	"strings"
	"testing"
)

func TestCodeBlock(t *testing.T) {
	tests := []struct {
		name, lang, text, want string
	}{
		{"plain", "shell", "terraform plan", "```shell\nterraform plan\n```"},
		{"no language", "", "Error: boom", "```\nError: boom\n```"},
		{"inline backticks", "", "value `x`", "```\nvalue `x`\n```"},
		{"a fence inside", "", "a\n```\nb", "````\na\n```\nb\n````"},
		{"a longer run inside", "", "x `````` y", "```````\nx `````` y\n```````"},
		{"empty", "", "", "```\n\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeBlock(tt.lang, tt.text); got != tt.want {
				t.Errorf("CodeBlock(%q, %q) = %q, want %q", tt.lang, tt.text, got, tt.want)
			}
		})
	}
}

func TestCodeSpan(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"address", "aws_s3_bucket.logs", "`aws_s3_bucket.logs`"},
		{"for_each key", `aws_s3_bucket.b["eu"]`, "`aws_s3_bucket.b[\"eu\"]`"},
		{"backtick inside", "a.b[\"x`y\"]", "``a.b[\"x`y\"]``"},
		{"backtick at the edge", "`x", "`` `x ``"},
		{"pipe", `a.b["x|y"]`, "`a.b[\"x\\|y\"]`"},
		{"line break", "a.b[\"x\ny\"]", "`a.b[\"x y\"]`"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeSpan(tt.text); got != tt.want {
				t.Errorf("CodeSpan(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"message", "Bucket has no encryption", "Bucket has no encryption"},
		{"pipe", `aws_instance.web["a|b"]`, `aws\_instance.web\["a\|b"\]`},
		{"html tag", "open <details><img src=x>", `open \<details\>\<img src=x\>`},
		{"html comment hides the rest", `aws_s3_bucket.x["<!--"]`, `aws\_s3\_bucket.x\["\<\!--"\]`},
		{"link", `delete of x["](https://evil.example)"]`, `delete of x\["\](https://evil.example)"\]`},
		{"image", `![x](https://evil.example/a.png)`, `\!\[x\](https://evil.example/a.png)`},
		{"line breaks", "one\r\ntwo\nthree\rfour", "one two three four"},
		{"heading after a break", "x\n## heading", `x \#\# heading`},
		{"runs of space", "  a \t b  ", "a b"},
		{"backticks and emphasis", "use `x` *now* ~~y~~", "use \\`x\\` \\*now\\* \\~\\~y\\~\\~"},
		{"entity", "&lt;script&gt;", `\&lt;script\&gt;`},
		{"backslash", `a\|b`, `a\\\|b`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.text); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

// FuzzCodeBlock: whatever the text, its lines never hold the closing fence, so the block
// ends where CodeBlock ends it.
func FuzzCodeBlock(f *testing.F) {
	for _, s := range []string{"", "`", "```", "a\n````\nb", "Error: `x`\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		block := CodeBlock("", text)
		first, _, _ := strings.Cut(block, "\n")
		if strings.Contains(text, first) {
			t.Fatalf("text %q holds the fence %q", text, first)
		}
		if !strings.HasSuffix(block, "\n"+first) {
			t.Fatalf("block %q does not end with its fence %q", block, first)
		}
	})
}

// FuzzCodeSpan: whatever the text, the span is one line, holds no bare pipe, and no run of
// backticks inside it is as long as its own.
func FuzzCodeSpan(f *testing.F) {
	for _, s := range []string{"", "`", "a|b", "x\n``y", "\\|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		span := CodeSpan(text)
		if text == "" {
			return
		}
		n := len(span) - len(strings.TrimLeft(span, "`"))
		inner := span[n : len(span)-n]
		if strings.ContainsAny(span, "\r\n") || strings.Contains(inner, strings.Repeat("`", n)) ||
			strings.Count(inner, "|") != strings.Count(inner, `\|`) {
			t.Fatalf("CodeSpan(%q) = %q", text, span)
		}
	})
}

// FuzzText: whatever the text (hostile resource addresses among the seeds), the result is
// one line in which every Markdown or HTML character is escaped, and removing the escapes
// gives back the text with its whitespace collapsed: nothing is lost, nothing can render.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "a|b", "<details>", "x\r\n## y", `\|`, `aws_s3_bucket.x["<!--"]`,
		`module.m["](https://e.x)"].aws_sns_topic.t`, "`code`", `\\[`, "![i](u)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := Text(text)
		if strings.ContainsAny(got, "\r\n") {
			t.Fatalf("Text(%q) = %q spans lines", text, got)
		}
		var plain strings.Builder
		for i := 0; i < len(got); i++ {
			c := got[i]
			if c == '\\' {
				if i+1 == len(got) || !strings.ContainsRune("\\`*_[]<>&|!~#", rune(got[i+1])) {
					t.Fatalf("Text(%q) = %q: stray backslash at %d", text, got, i)
				}
				i++
				plain.WriteByte(got[i])
				continue
			}
			if strings.ContainsRune("`*_[]<>&|!~#", rune(c)) {
				t.Fatalf("Text(%q) = %q: unescaped %q at %d", text, got, c, i)
			}
			plain.WriteByte(c)
		}
		if want := strings.Join(strings.Fields(text), " "); plain.String() != want {
			t.Fatalf("Text(%q) unescaped = %q, want %q", text, plain.String(), want)
		}
	})
}
